"""The campaign DAGs run for real (dag.test) against the simulator and a seeded CRM."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.integration.campaign_env import campaign_env, write_test_config
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_contact, campaign_run, rejected_contact, suppression
from vbotflow_dev.demo_crm import customers

pytestmark = pytest.mark.airflow


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def _task_states(run) -> dict[str, str]:
    return {ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": ti.state
            for ti in run.get_task_instances()}


def test_campaigns_are_created_once_with_the_right_fields(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40)
        run = env.run("payment_reminder")
        assert run.state == "success", _task_states(run)

        engine = make_engine(db_url)
        runs = [dict(r) for r in engine.connect().execute(
            sa.select(campaign_run).order_by(campaign_run.c.chunk_number)).mappings()]
        campaigns = {c["campaign_id"]: c for c in env.sim("campaigns")}
        accepted = _count(engine, campaign_contact)
        rejected = _count(engine, rejected_contact)
        outcome = run.get_task_instance("build_list").xcom_pull(task_ids="build_list", key="outcome")

        # Counts add up: every extracted row is accepted or rejected, and every accepted one was sent.
        assert outcome["extracted"] == accepted + rejected
        assert outcome["accepted"] == accepted == sum(r["phone_count"] for r in runs)
        assert sum(outcome["rejected_by_reason"].values()) == rejected
        assert {"dnc", "invalid_phone", "not_mobile"} <= set(outcome["rejected_by_reason"])
        assert len(runs) == -(-accepted // 40) >= 2
        assert all(r["state"] == "created" for r in runs)
        assert sorted(r["vbot_campaign_id"] for r in runs) == sorted(campaigns)

        # What VBot received: template, group, names, and every contact's fields as strings.
        day = env.run_date.strftime("%Y%m%d")
        for row in runs:
            payload = campaigns[row["vbot_campaign_id"]]["payload"]
            assert (payload["campaignId"], payload["groupCode"], payload["vbotId"]) == (2932, "PR2023030714401",
                                                                                        "44634001")
            assert payload["name"] == row["campaign_name"] == f"payment_reminder_{day}_{row['chunk_number']}"
            assert len(payload["phones"]) == row["phone_count"]
            for contact in payload["phones"]:
                fields = {f["key"]: f["value"] for f in contact["fields"]}
                assert set(fields) == {"phone", "name", "amount", "due_date", "numberCall"}
                assert fields["numberCall"] == "2" and fields["phone"].startswith("0") and len(fields["phone"]) == 10
                assert all(isinstance(v, str) and v for v in fields.values())
        sent_phones = [f["value"] for c in campaigns.values() for p in c["payload"]["phones"] for f in p["fields"]
                       if f["key"] == "phone"]
        assert len(sent_phones) == len(set(sent_phones)) == accepted

        # CRM do-not-call numbers now feed the suppression table (a flagged landline or foreign
        # number is rejected dnc too, with no mobile to suppress).
        with engine.connect() as conn:
            dnc_phones = set(conn.execute(sa.select(rejected_contact.c.phone).where(
                rejected_contact.c.reason == "dnc", rejected_contact.c.phone.is_not(None))).scalars())
            suppressed = set(conn.execute(sa.select(suppression.c.phone).where(
                suppression.c.reason == "crm_dnc")).scalars())
        assert suppressed == dnc_phones and len(dnc_phones) > 0

        # A rerun of the same day sends nothing new and keeps the same campaigns.
        creates_before = len(env.sim("creates"))
        rerun = env.dag("payment_reminder").test(run_conf={"run_date": env.run_date.isoformat()},
                                                 run_after=run.run_after + timedelta(minutes=5))
        assert rerun.state == "success", _task_states(rerun)
        assert len(env.sim("creates")) == creates_before
        assert _count(engine, campaign_run) == len(runs)
        assert _count(engine, campaign_contact) == accepted
        engine.dispose()


def test_dry_run_sends_nothing_and_writes_a_masked_preview(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40)
        run = env.run("payment_reminder", dry_run=True)
        assert run.state == "success", _task_states(run)
        assert env.sim("creates") == []
        engine = make_engine(db_url)
        assert _count(engine, campaign_run) == _count(engine, campaign_contact) == _count(engine, rejected_contact) == 0
        engine.dispose()

        preview = env.var_dir / "dry_run" / "payment_reminder" / env.run_date.isoformat()
        counts = json.loads((preview / "counts.json").read_text())
        assert counts["extracted"] == counts["accepted"] + counts["rejected"] > 0
        payload = json.loads((preview / "payload_chunk_001.json").read_text())
        phones = [f["value"] for p in payload["phones"] for f in p["fields"] if f["key"] == "phone"]
        assert len(phones) == counts["chunks"]["1"] == 40
        assert all(p[2:8] == "******" for p in phones)


def test_a_run_date_whose_window_has_passed_fails_and_sends_nothing(airflow_db, db_url, monkeypatch,
                                                                      tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        yesterday = env.run_date - timedelta(days=1)
        run = env.run("payment_reminder", run_date=yesterday.isoformat())
        states = _task_states(run)
        assert run.state == "failed"
        assert states["build_list"] == "success" and states["calling_window"] == "failed"
        assert env.sim("creates") == []
        engine = make_engine(db_url)
        assert {r for r in engine.connect().execute(sa.select(campaign_run.c.state)).scalars()} == {"pending"}
        engine.dispose()


def test_a_sql_injection_in_limit_is_refused_and_nothing_is_dropped(airflow_db, db_url, monkeypatch,
                                                                    tmp_path) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with campaign_env(monkeypatch, tmp_path, db_url, rows=50) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        with pytest.raises(ParamValidationError, match="limit"):
            env.run("payment_reminder", limit="1; DROP TABLE customers")
        crm = make_engine(env.crm_url)
        assert _count(crm, customers) == 50
        crm.dispose()
        assert env.sim("creates") == []


def test_limit_caps_the_rows_extracted(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        run = env.run("payment_reminder", limit=25)
        assert run.state == "success", _task_states(run)
        outcome = run.get_task_instance("build_list").xcom_pull(task_ids="build_list", key="outcome")
        assert outcome["extracted"] == 25


def test_a_rerun_after_the_crm_changed_fails_loudly_and_sends_nothing(airflow_db, db_url, monkeypatch,
                                                                     tmp_path) -> None:
    from vbotflow_dev.demo_crm import invoices

    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        first = env.run("payment_reminder")
        assert first.state == "success", _task_states(first)
        creates = len(env.sim("creates"))

        crm = make_engine(env.crm_url)
        with crm.begin() as conn:  # the list changes after its campaign was sent: every invoice is now due
            conn.execute(invoices.update().values(due_date=env.run_date, paid=0))
        crm.dispose()
        rerun = env.dag("payment_reminder").test(run_conf={"run_date": env.run_date.isoformat()},
                                                 run_after=first.run_after + timedelta(minutes=5))
        states = _task_states(rerun)
        assert rerun.state == "failed" and states["build_list"] == "failed"
        (ti,) = [t for t in rerun.get_task_instances() if t.task_id == "build_list"]
        assert ti.try_number == 1  # no retry: the same data would fail the same way
        assert len(env.sim("creates")) == creates
