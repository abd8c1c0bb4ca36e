"""The whole loop with the simulator: campaign DAG → simulated calls → receiver → reconciliation → report."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.integration.campaign_env import campaign_env, write_test_config
from tests.integration.receiver_support import werkzeug_server
from vbotflow.campaigns.build import preview_daily_list
from vbotflow.campaigns.config import load_config
from vbotflow.store.db import make_engine
from vbotflow.store.tables import call_attempt, contact_outcome, kpi_daily
from vbotflow.vbot.api import build_create_body

pytestmark = pytest.mark.airflow
TOKEN = "loop-token-7c1d"


def _reconcile(env, **conf):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO_ROOT

    day = env.run_date.isoformat()
    conf = {"date_from": day, "date_to": day, "settle_seconds": 0, "missing_after_hours": 0,
            "max_reject_rate": 1, "max_missing_rate": 1, **conf}
    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("vbot_reconcile")
    return dag.test(run_conf=conf, logical_date=datetime.now(UTC))


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def test_report_numbers_equal_what_the_simulator_did(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    receiver_config = {"DB_URL": db_url, "WEBHOOK_TOKENS": TOKEN, "SPOOL_DIR": str(tmp_path / "spool")}
    with werkzeug_server(receiver_config) as receiver:
        delivery = {"webhook_url": f"{receiver}/webhooks/vbot", "headers": {"X-Webhook-Token": TOKEN}}
        with campaign_env(monkeypatch, tmp_path, db_url, rows=400,
                          sim_changes={"delivery": delivery, "dialing": {"start_at": None}}) as env:
            write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=60)
            assert env.run("payment_reminder").state == "success"
            assert env.sim("idle?wait=120")["idle"] is True
            totals = env.sim("totals")
            assert all(t["deliveries"]["failed"] == 0 for t in totals.values())

            run = _reconcile(env)
            assert run.state == "success", {t.task_id: t.state for t in run.get_task_instances()}

            engine = make_engine(db_url)
            with engine.connect() as conn:
                attempts = conn.execute(sa.select(sa.func.count()).select_from(call_attempt)).scalar_one()
                kpi = conn.execute(sa.select(kpi_daily)).mappings().one()
                outcomes = conn.execute(sa.select(contact_outcome.c.outcome, sa.func.count())
                                        .group_by(contact_outcome.c.outcome)).all()
            engine.dispose()
            assert attempts == sum(t["attempts"] for t in totals.values())
            assert kpi["contacts"] == sum(t["contacts"] for t in totals.values())
            assert kpi["answered"] == sum(t["contacts_reached"] for t in totals.values())
            assert kpi["total_cost"] == _money(sum(t["total_postage"] + t["total_service_charge"]
                                                   for t in totals.values()))
            assert dict(outcomes).get("missing", 0) == 0 and dict(outcomes).get("pending", 0) == 0
            report = run.get_task_instance("report").xcom_pull(task_ids="report")
            assert report["answered"] == kpi["answered"] and report["orphan_attempts"] == 0


def test_missing_results_are_backfilled_from_the_history_api(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    # No webhook at all: every result has to come from VBot's call history.
    with campaign_env(monkeypatch, tmp_path, db_url, rows=120) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        assert env.run("payment_reminder").state == "success"
        assert env.sim("idle?wait=60")["idle"] is True
        conn_env = json.loads(os.environ["AIRFLOW_CONN_VBOT_DEFAULT"])
        conn_env["extra"]["history_backfill"] = True
        monkeypatch.setenv("AIRFLOW_CONN_VBOT_DEFAULT", json.dumps(conn_env))

        run = _reconcile(env)
        assert run.state == "success", {t.task_id: t.state for t in run.get_task_instances()}
        added = run.get_task_instance("backfill_missing").xcom_pull(task_ids="backfill_missing")
        totals = env.sim("totals")
        assert added == sum(t["attempts"] for t in totals.values()) > 0
        engine = make_engine(db_url)
        with engine.connect() as conn:
            sources = dict(conn.execute(sa.select(call_attempt.c.source, sa.func.count())
                                        .group_by(call_attempt.c.source)).all())
            missing = conn.execute(sa.select(sa.func.count()).select_from(contact_outcome)
                                   .where(contact_outcome.c.outcome == "missing")).scalar_one()
            answered = conn.execute(sa.select(sa.func.count()).select_from(contact_outcome)
                                    .where(contact_outcome.c.is_answered)).scalar_one()
        engine.dispose()
        assert sources == {"history_api": added} and missing == 0
        assert answered == sum(t["contacts_reached"] for t in totals.values())


def test_recycling_is_respected_by_the_next_days_list(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    receiver_config = {"DB_URL": db_url, "WEBHOOK_TOKENS": TOKEN, "SPOOL_DIR": str(tmp_path / "spool")}
    with werkzeug_server(receiver_config) as receiver:
        delivery = {"webhook_url": f"{receiver}/webhooks/vbot", "headers": {"X-Webhook-Token": TOKEN}}
        with campaign_env(monkeypatch, tmp_path, db_url, rows=200, sim_changes={"delivery": delivery}) as env:
            path = write_test_config(env.campaigns_dir, "payment_reminder", number_call=1,
                                     suppression={"frequency_cap_hours": 0},
                                     recycling={"max_attempts": 1, "retry_after_hours": 0})
            assert env.run("payment_reminder").state == "success"
            assert env.sim("idle?wait=60")["idle"] is True
            assert _reconcile(env).state == "success"

            engine = make_engine(db_url)
            with engine.connect() as conn:
                not_reached = set(conn.execute(sa.select(contact_outcome.c.phone).where(
                    contact_outcome.c.outcome == "not_reached")).scalars())
                answered = set(conn.execute(sa.select(contact_outcome.c.phone).where(
                    contact_outcome.c.is_answered)).scalars())
            assert not_reached and answered

            # The next day's list: unanswered numbers have had their one attempt; answered ones may come back.
            crm = make_engine(env.crm_url)
            outcome = preview_daily_list(
                config=load_config(path), run_date=env.run_date + timedelta(days=1), crm_engine=crm,
                db_engine=engine, out_dir=tmp_path / "preview",
                body_for=lambda name, contacts: build_create_body(vbot_id="1", group_code="G", template_id=2932,
                                                                  name=name, contacts=contacts))
            crm.dispose()
            rejects = json.loads((tmp_path / "preview" / "counts.json").read_text())
            assert outcome.rejected_by_reason.get("attempt_limit", 0) > 0
            assert rejects["rejected_by_reason"]["attempt_limit"] == outcome.rejected_by_reason["attempt_limit"]
            assert outcome.rejected_by_reason["attempt_limit"] <= len(not_reached)
            engine.dispose()
