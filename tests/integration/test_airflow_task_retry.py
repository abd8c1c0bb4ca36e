"""A real Airflow task (dag.test) that creates a campaign through the outbox and gets retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from vbotflow.campaigns import outbox
from vbotflow.store.db import make_engine

CREATE = "/api/campaign/create"
LOGICAL = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
pytestmark = pytest.mark.airflow


@pytest.fixture
def vbot() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


def _dag():
    from tests.dags.vbot_create_retry import dag

    return dag


def _posts(server: HTTPServer) -> int:
    return sum(1 for req, _ in server.log if req.path == CREATE)


def test_task_retried_after_a_500_creates_exactly_one_campaign(airflow_db, db_url, monkeypatch, vbot) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VBOTFLOW_DB",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": db_url}}))
    # max_retries 0: the hook does not retry, so the 500 fails the task and Airflow's retry re-runs it.
    monkeypatch.setenv("AIRFLOW_CONN_VBOT_RETRY_TEST", json.dumps(
        {"conn_type": "vbot", "host": vbot.url_for("").rstrip("/"), "password": "static-token",
         "extra": {"vbot_id": "44634001", "group_code": "PR1", "max_retries": 0}}))
    vbot.expect_ordered_request(CREATE).respond_with_data("boom", status=500)
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 1, "error": 0, "msg": "success", "data": 4242})

    run = _dag().test(logical_date=LOGICAL)
    assert run.state == "success"
    (ti,) = run.get_task_instances()
    assert ti.try_number == 2
    assert _posts(vbot) == 2

    engine = make_engine(db_url)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["vbot_campaign_id"], row["campaign_name"], row["attempts"]) == (
        "created", 4242, "nhac_no_20261126_1", 2)

    # A rerun of the same logical date finds the created row and sends nothing.
    rerun = _dag().test(logical_date=LOGICAL, run_after=LOGICAL + timedelta(hours=1))
    assert rerun.state == "success"
    assert _posts(vbot) == 2
    engine.dispose()
