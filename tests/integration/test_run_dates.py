"""One run-date rule for every path: the classic operator and the campaign DAG key a day alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa

from tests.integration.campaign_env import campaign_env, write_test_config
from vbotflow.campaigns import outbox
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_run
from vbotflow.vbot.timestamps import VIETNAM, run_date_in_vietnam

pytestmark = pytest.mark.airflow
CREATE = "/api/campaign/create"


def _classic_dag():
    from tests.dags.vbot_create_retry import dag

    return dag


def _point_the_classic_dag_at(vbot, monkeypatch, campaign_id: int) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VBOT_RETRY_TEST", json.dumps(
        {"conn_type": "vbot", "host": vbot.url_for("").rstrip("/"), "password": "static-token",
         "extra": {"vbot_id": "44634001", "group_code": "PR1", "max_retries": 0}}))
    vbot.expect_request(CREATE).respond_with_json({"status": 1, "error": 0, "msg": "success", "data": campaign_id})


def _run_dates_of(engine, config_name: str) -> set[str]:
    with engine.connect() as conn:
        keys = conn.execute(sa.select(campaign_run.c.run_key).where(campaign_run.c.config_name == config_name))
        return {key.split("/")[1] for key in keys.scalars()}


def test_the_classic_operator_and_the_taskflow_dag_give_one_day_one_run_key(airflow_db, db_url, monkeypatch,
                                                                            tmp_path, vbot) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url, rows=60) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        # 03:00 in Vietnam is 20:00 UTC the day before: the UTC date and the Vietnam date differ.
        logical = datetime.combine(env.run_date, time(3, 0), tzinfo=VIETNAM)
        assert logical.astimezone(UTC).date() != env.run_date
        taskflow = env.dag("payment_reminder").test(logical_date=logical, run_conf={})
        assert taskflow.state == "success", {t.task_id: t.state for t in taskflow.get_task_instances()}

        _point_the_classic_dag_at(vbot, monkeypatch, 4242)
        classic = _classic_dag().test(logical_date=logical)
        assert classic.state == "success"

        engine = make_engine(db_url)
        assert _run_dates_of(engine, "payment_reminder") == {env.run_date.isoformat()}
        assert _run_dates_of(engine, "nhac_no") == {env.run_date.isoformat()}
        assert outbox.get_run(engine, f"nhac_no/{env.run_date.isoformat()}/001")["vbot_campaign_id"] == 4242
        engine.dispose()


def test_a_classic_run_without_a_logical_date_is_keyed_by_its_vietnam_day(airflow_db, db_url, monkeypatch,
                                                                         vbot) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VBOTFLOW_DB",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": db_url}}))
    _point_the_classic_dag_at(vbot, monkeypatch, 4343)
    run = _classic_dag().test(logical_date=None)
    assert run.state == "success", {t.task_id: t.state for t in run.get_task_instances()}
    engine = make_engine(db_url)
    day = run_date_in_vietnam(run.run_after).isoformat()
    assert outbox.get_run(engine, f"nhac_no/{day}/001")["vbot_campaign_id"] == 4343
    engine.dispose()
