"""The campaign DAGs run for real (dag.test) against the simulator and a seeded CRM."""

from __future__ import annotations

import json
import logging
import time as pytime
from datetime import datetime, time, timedelta

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


def test_a_future_run_date_is_refused_at_once_and_builds_nothing(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    # Waiting days for a future day's window would hold the DAG's only active run (max_active_runs=1):
    # every later run, scheduled or triggered, would queue behind it.
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        tomorrow = env.run_date + timedelta(days=1)
        run = env.run("payment_reminder", run_date=tomorrow.isoformat())
        states = _task_states(run)
        assert run.state == "failed" and states["build_list"] == "failed", states
        assert states["calling_window"] != "deferred"
        (ti,) = [t for t in run.get_task_instances() if t.task_id == "build_list"]
        assert ti.try_number == 1  # refused for good, not retried
        assert env.sim("creates") == []
        engine = make_engine(db_url)
        assert _count(engine, campaign_run) == _count(engine, campaign_contact) == _count(engine, rejected_contact) == 0
        assert _count(engine, suppression) == 0
        engine.dispose()


def test_a_dry_run_key_is_refused_before_anything_is_built(airflow_db, db_url, monkeypatch, tmp_path,
                                                          capfd, caplog) -> None:
    # Campaign DAGs have no dry run. Airflow ignores conf keys no Param declares, so without the check
    # an old habit's {"dry_run": true} would run for real and send.
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        with caplog.at_level(logging.INFO):
            run = env.run("payment_reminder", dry_run=True)
        states = _task_states(run)
        assert run.state == "failed" and states["build_list"] == "failed", states
        assert env.sim("creates") == []
        engine = make_engine(db_url)
        assert _count(engine, campaign_run) == _count(engine, campaign_contact) == _count(engine, rejected_contact) == 0
        engine.dispose()
    captured = capfd.readouterr()
    out = "\n".join([captured.out, captured.err, caplog.text])  # dag.test's task log: stdout or logging
    assert "has key(s) this DAG does not know: dry_run" in out
    assert "trigger vbot_preview" in out and "Nothing was built or sent" in out


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


def test_sql_inside_crm_data_travels_as_data(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    # Values reach the SQL only as bound parameters (run date, sql_params, checked on load), and what
    # comes back from the CRM is data: a name holding SQL is sent to VBot as written, nothing runs.
    evil = "Robert'); DROP TABLE customers; --"
    with campaign_env(monkeypatch, tmp_path, db_url, rows=50) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        crm = make_engine(env.crm_url)
        with crm.begin() as conn:
            conn.execute(customers.update().values(full_name=evil))
        run = env.run("payment_reminder")
        assert run.state == "success", _task_states(run)
        assert _count(crm, customers) == 50
        crm.dispose()
        sent = [f["value"] for c in env.sim("campaigns") for p in c["payload"]["phones"] for f in p["fields"]
                if f["key"] == "name"]
        assert sent and set(sent) == {evil}
        engine = make_engine(db_url)
        stored = {json.loads(text)["name"] for text in engine.connect().execute(
            sa.select(campaign_contact.c.fields_json)).scalars()}
        engine.dispose()
        assert stored == {evil}


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


def _asset_events_of(run) -> list[dict]:
    from airflow import settings
    from airflow.models.asset import AssetEvent, AssetModel

    session = settings.Session()
    try:
        rows = session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).filter(
            AssetModel.name == "vbotflow_campaigns_created", AssetEvent.source_run_id == run.run_id).all()
        return [dict(r.extra or {}) for r in rows]
    finally:
        session.close()


def _vietnam_now() -> datetime:
    from vbotflow.vbot.timestamps import VIETNAM

    now = datetime.now(VIETNAM)
    if now.time() < time(0, 3):  # the window below must have closed today: wait out the first minutes
        pytime.sleep((datetime.combine(now.date(), time(0, 3), tzinfo=now.tzinfo) - now).total_seconds())
        now = datetime.now(VIETNAM)
    return now


def test_a_rerun_after_the_window_closed_of_a_created_day_succeeds_and_emits_the_asset(airflow_db, db_url,
                                                                                       monkeypatch, tmp_path) -> None:
    now = _vietnam_now()
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40)
        first = env.run("payment_reminder")
        assert first.state == "success", _task_states(first)
        creates = len(env.sim("creates"))
        assert creates >= 2

        # Later that day the window has closed (as 17:00 closes the shipped one); the day is rerun.
        closed = (now - timedelta(minutes=2)).time().replace(second=0, microsecond=0)
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40,
                          calling_window={"start": "00:00", "end": closed.strftime("%H:%M")})
        rerun = env.dag("payment_reminder").test(run_conf={"run_date": env.run_date.isoformat()},
                                                 run_after=first.run_after + timedelta(minutes=5))
        states = _task_states(rerun)
        assert rerun.state == "success", states
        assert states["calling_window"] == states["summary"] == "success"
        assert len(env.sim("creates")) == creates  # nothing sent
        created_ids = sorted(campaign_id for r in rerun.get_task_instances() if r.task_id == "create_campaign"
                             for campaign_id in r.xcom_pull(task_ids="create_campaign", map_indexes=r.map_index))
        assert created_ids == sorted(c["campaign_id"] for c in env.sim("campaigns"))
        (event,) = _asset_events_of(rerun)
        assert (event["config"], event["run_date"]) == ("payment_reminder", env.run_date.isoformat())
        assert sorted(event["campaigns"]) == created_ids


def test_after_the_window_closed_a_day_not_yet_sent_fails_and_nothing_is_sent(airflow_db, db_url, monkeypatch,
                                                                               tmp_path) -> None:
    now = _vietnam_now()
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40,
                          calling_window={"start": "00:00", "end": (now - timedelta(minutes=2)).strftime("%H:%M")})
        run = env.run("payment_reminder")
        states = _task_states(run)
        assert run.state == "failed" and states["calling_window"] == "failed", states
        assert env.sim("creates") == []
        engine = make_engine(db_url)
        assert {r for r in engine.connect().execute(sa.select(campaign_run.c.state)).scalars()} == {"pending"}
        engine.dispose()


def test_a_day_of_more_campaigns_than_create_tasks_sends_each_once_in_groups(airflow_db, db_url, monkeypatch,
                                                                            tmp_path) -> None:
    from vbot_provider.console.airflow_runs import CLOCK_MARGIN, create_tasks
    from vbotflow.campaigns import outbox

    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=5, max_create_tasks=3)
        run = env.run("payment_reminder")
        assert run.state == "success", _task_states(run)

        engine = make_engine(db_url)
        runs = outbox.list_runs(engine, config_name="payment_reminder")
        chunks = len(runs)
        assert chunks > 6 and all(r["state"] == "created" for r in runs)
        creates = [ti for ti in run.get_task_instances() if ti.task_id == "create_campaign"]
        assert sorted(ti.map_index for ti in creates) == [0, 1, 2]
        # Consecutive chunks, sizes as even as can be, every chunk in exactly one group.
        groups = run.get_task_instance("build_list").xcom_pull(task_ids="build_list")
        sizes = [len(g) for g in groups]
        assert sum(sizes) == chunks and max(sizes) - min(sizes) <= 1
        assert [c["chunk_number"] for g in groups for c in g] == list(range(1, chunks + 1))
        day = env.run_date.strftime("%Y%m%d")
        labels = {ti.map_index: ti.rendered_map_index for ti in creates}
        assert labels == {i: f"payment_reminder_{day}_{g[0]['chunk_number']} … payment_reminder_{day}_"
                             f"{g[-1]['chunk_number']} ({len(g)} campaigns)" for i, g in enumerate(groups)}
        # One create per chunk at VBot; the tasks return the ids the outbox holds.
        assert sorted(c["body"]["name"] for c in env.sim("creates")) == sorted(r["campaign_name"] for r in runs)
        returned = [campaign_id for ti in sorted(creates, key=lambda t: t.map_index)
                    for campaign_id in ti.xcom_pull(task_ids="create_campaign", map_indexes=ti.map_index)]
        by_chunk = {r["chunk_number"]: r["vbot_campaign_id"] for r in runs}
        assert returned == [by_chunk[n] for n in range(1, chunks + 1)]

        # The console finds, for every campaign run, the task instance of its group.
        refs = create_tasks(runs, lambda names: outbox.chunk_positions(engine, names))
        group_of = {c["run_key"]: i for i, g in enumerate(groups) for c in g}
        assert {key: (ref.run_id, ref.map_index) for key, ref in refs.items()} == {
            key: (run.run_id, index) for key, index in group_of.items()}
        # Task instances that ran before rows were written (beyond the clocks' margin) did not send them.
        later = [{**r, "created_at": r["created_at"] + CLOCK_MARGIN + timedelta(minutes=10)} for r in runs]
        assert create_tasks(later, lambda names: outbox.chunk_positions(engine, names)) == {}

        # A rerun sends nothing and still succeeds.
        rerun = env.dag("payment_reminder").test(run_conf={"run_date": env.run_date.isoformat()},
                                                 run_after=run.run_after + timedelta(minutes=5))
        assert rerun.state == "success", _task_states(rerun)
        assert len(env.sim("creates")) == chunks
        refs = create_tasks(runs, lambda names: outbox.chunk_positions(engine, names))
        assert {ref.run_id for ref in refs.values()} == {rerun.run_id}  # the latest run's instances
        engine.dispose()
