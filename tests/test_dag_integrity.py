"""Every file in dags/ imports cleanly and every DAG follows the house rules."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_file_defines_a_dag(dagbag) -> None:
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    dag_files = {p.name for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")}
    assert dag_files - files_with_dags == set()


def test_every_dag_is_tagged_documented_and_retried(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id} catches up"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def _callbacks(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def test_every_dag_and_every_task_sends_its_failures_as_alerts(dagbag) -> None:
    from vbot_provider.notifiers import VBotflowAlertNotifier

    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        assert any(isinstance(c, VBotflowAlertNotifier)
                   for c in _callbacks(dag.default_args.get("on_failure_callback"))), f"{dag_id} has no alert"
        for task in dag.tasks:
            assert any(isinstance(c, VBotflowAlertNotifier) for c in _callbacks(task.on_failure_callback)), \
                f"{dag_id}.{task.task_id} fails without an alert"


def test_a_campaign_dag_retries_its_tasks_as_its_config_says(tmp_path, monkeypatch) -> None:
    import importlib.util
    from datetime import timedelta

    import yaml

    from vbotflow.campaigns.config import CAMPAIGNS_DIR, load_config

    doc = yaml.safe_load((CAMPAIGNS_DIR / "payment_reminder.yaml").read_text(encoding="utf-8"))
    doc["task_retries"] = {"count": 4, "delay_seconds": 15}
    path = tmp_path / "payment_reminder.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("campaign_dags_under_test", DAGS_DIR / "vbot_campaigns.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.build_dag(load_config(path))
    tasks = ("build_list", "calling_window", "create_campaign", "summary")
    assert {(t.task_id, t.retries, t.retry_delay) for t in dag.tasks} == {
        (task_id, 4, timedelta(seconds=15)) for task_id in tasks}
