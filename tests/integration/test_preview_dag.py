"""vbot_preview runs for real (dag.test) against a seeded CRM, with the simulator as VBot: it sends nothing."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.integration.campaign_env import REPO, campaign_env, write_test_config
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_contact, campaign_run, rejected_contact, suppression
from vbotflow_dev.demo_crm import customers

pytestmark = pytest.mark.airflow

ASSET = "vbotflow_campaigns_created"


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _asset_events(source_dag_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            sa.select(AssetModel.name, AssetEvent.source_run_id, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == source_dag_id)).all()
    return [{"asset": name, "run_id": run_id, "extra": extra} for name, run_id, extra in rows]


def test_a_preview_writes_masked_files_and_sends_and_records_nothing(airflow_db, db_url, monkeypatch,
                                                                     tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder", max_phones_per_campaign=40)
        run = _bag().get_dag("vbot_preview").test(run_conf={"config": "payment_reminder",
                                                            "run_date": env.run_date.isoformat()})
        assert run.state == "success"
        assert [ti.task_id for ti in run.get_task_instances()] == ["preview_list"]

        # Nothing reached VBot, not even a token request; nothing was recorded, no DNC number added.
        assert env.sim("creates") == [] and env.sim("tokens") == []
        engine = make_engine(db_url)
        for table in (campaign_run, campaign_contact, rejected_contact, suppression):
            assert _count(engine, table) == 0, table.name
        engine.dispose()

        preview = env.var_dir / "previews" / "payment_reminder" / env.run_date.isoformat()
        counts = json.loads((preview / "counts.json").read_text())
        assert counts["extracted"] == counts["accepted"] + counts["rejected"] > 0
        payload = json.loads((preview / "payload_chunk_001.json").read_text())
        assert (payload["vbotId"], payload["groupCode"], payload["campaignId"]) == ("44634001", "PR2023030714401", 2932)
        phones = [f["value"] for p in payload["phones"] for f in p["fields"] if f["key"] == "phone"]
        assert len(phones) == counts["chunks"]["1"] == 40
        assert all(re.fullmatch(r"0\d\*{6}\d\d", p) for p in phones)
        assert not list(preview.glob("payload_chunk_002.json"))  # the first campaign's body only

        outcome = run.get_task_instance("preview_list").xcom_pull(task_ids="preview_list")
        assert outcome["preview_dir"] == str(preview)
        assert (outcome["extracted"], outcome["accepted"]) == (counts["extracted"], counts["accepted"])
        assert outcome["chunk_sizes"] == {k: v for k, v in counts["chunks"].items()}


def test_a_preview_emits_no_asset_event_while_a_campaign_run_does(airflow_db, db_url, monkeypatch,
                                                                 tmp_path) -> None:
    # The asset starts vbot_reconcile: a preview must start nothing downstream.
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        bag = _bag()
        preview = bag.get_dag("vbot_preview")
        assert all(not task.outlets for task in preview.tasks)
        run = preview.test(run_conf={"config": "payment_reminder", "run_date": env.run_date.isoformat()})
        assert run.state == "success"
        assert [e for e in _asset_events("vbot_preview") if e["run_id"] == run.run_id] == []

        # The check can fail: a real campaign run of the same environment does emit the event.
        real = env.run("payment_reminder")
        assert real.state == "success"
        events = [e for e in _asset_events("vbot_campaign__payment_reminder") if e["run_id"] == real.run_id]
        assert [(e["asset"], e["extra"]["config"]) for e in events] == [(ASSET, "payment_reminder")]


def test_the_preview_log_is_a_summary_without_personal_data(airflow_db, db_url, monkeypatch, tmp_path,
                                                            capfd, caplog) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url, rows=120) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        crm = make_engine(env.crm_url)
        with crm.connect() as conn:
            people = conn.execute(sa.select(customers.c.full_name, customers.c.phone)).all()
        crm.dispose()
        capfd.readouterr()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            run = _bag().get_dag("vbot_preview").test(run_conf={"config": "payment_reminder"})
        assert run.state == "success"
        # Where dag.test's task log lands depends on how Airflow set up logging in this process: take both.
        captured = capfd.readouterr()
        out = "\n".join([captured.out, captured.err, caplog.text])
    preview_dir = env.var_dir / "previews" / "payment_reminder" / env.run_date.isoformat()
    summary = next(line for line in out.splitlines() if "Preview of payment_reminder" in line)
    assert "Nothing was sent to VBot and nothing was recorded" in summary
    assert f"Files in {preview_dir}" in summary
    assert re.search(r"\d+ CRM row\(s\), \d+ accepted in \d+ campaign\(s\)", summary)
    leaked_names = [name for name, _ in people if name and name in out]
    assert leaked_names == []
    # Any spelling of a phone ends with its 9 national digits: none of them may appear.
    national = {digits[-9:] for _, phone in people if len(digits := re.sub(r"\D", "", str(phone))) >= 9}
    assert [n for n in national if n in out] == []


def test_a_preview_of_another_day_and_a_limit(airflow_db, db_url, monkeypatch, tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        day = env.run_date + timedelta(days=3)
        run = _bag().get_dag("vbot_preview").test(run_conf={"config": "payment_reminder",
                                                            "run_date": day.isoformat(), "limit": 25})
        assert run.state == "success"
        counts = json.loads((env.var_dir / "previews" / "payment_reminder" / day.isoformat() / "counts.json")
                            .read_text())
        assert counts["extracted"] == 25
        assert env.sim("creates") == []


def test_a_misspelt_key_fails_the_preview_instead_of_being_ignored(airflow_db, db_url, monkeypatch,
                                                                   tmp_path) -> None:
    with campaign_env(monkeypatch, tmp_path, db_url) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        run = _bag().get_dag("vbot_preview").test(run_conf={"config": "payment_reminder", "run_dat": "2026-01-01"})
        assert run.state == "failed"
        assert not (env.var_dir / "previews").exists()
