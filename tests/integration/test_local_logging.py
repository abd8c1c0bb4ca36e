"""Logs of running and deferred tasks on ``make up``: read from the shared folder, no log server asked."""

from __future__ import annotations

import json

import pytest

from tests.integration.campaign_env import REPO, campaign_env, write_test_config

pytestmark = pytest.mark.airflow


def _read(handler_class, ti, tmp_path) -> list[str]:
    handler = handler_class(base_log_folder=str(tmp_path / "logs"))
    path = tmp_path / "logs" / handler._render_filename(ti, ti.try_number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"event": "waiting for the calling window", "level": "info",
                                "timestamp": "2026-11-26T01:00:00Z"}) + "\n")
    stream, _ = handler._read(ti, ti.try_number)
    return [str(getattr(line, "event", line)) for line in stream]


def test_a_deferred_tasks_log_comes_from_the_folder_without_a_log_server(airflow_db, monkeypatch, tmp_path,
                                                                         caplog) -> None:
    from airflow.utils.log.file_task_handler import FileTaskHandler
    from airflow.utils.state import TaskInstanceState

    from vbot_provider.local_logging import LOGGING_CONFIG, SharedFolderTaskHandler

    assert LOGGING_CONFIG["handlers"]["task"]["class"] == "vbot_provider.local_logging.SharedFolderTaskHandler"
    db_url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
    from vbotflow.store import db

    db.upgrade(db_url)
    with campaign_env(monkeypatch, tmp_path, db_url, rows=20) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        from airflow.dag_processing.dagbag import DagBag

        run = DagBag(dag_folder=str(REPO / "dags")).dags["vbot_preview"].test(run_conf={"config": "payment_reminder"})
        ti = run.get_task_instance("preview_list")
        # As the API server sees a task waiting in the triggerer of a machine without log servers.
        ti.state, ti.hostname = TaskInstanceState.RUNNING, "127.0.0.1"

        # Airflow's own handler asks the (absent) log server and reports the failure in the log itself.
        assert any("Could not read served logs" in line for line in _read(FileTaskHandler, ti, tmp_path / "a"))
        caplog.clear()
        lines = _read(SharedFolderTaskHandler, ti, tmp_path / "b")
        assert "waiting for the calling window" in lines
        assert not any("served logs" in line for line in lines)
        assert "Could not read served logs" not in caplog.text
