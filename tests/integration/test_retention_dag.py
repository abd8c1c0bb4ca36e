"""vbot_retention runs for real (dag.test): without its key it fails and changes nothing; a dry run counts;
a run de-identifies the old day; XCom carries counts and the task logs no personal data."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import REPO_ROOT
from tests.integration.privacy_support import (
    KEY,
    backdate,
    build_day,
    mentions,
    project,
    search_database,
    vietnam_today,
)
from vbotflow.privacy import audit
from vbotflow.privacy.matching import national_forms
from vbotflow.privacy.pseudonyms import is_phone_pseudonym
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_contact

pytestmark = pytest.mark.airflow


def _run(**conf):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("vbot_retention")
    # Both params always named: dag.test() keeps an earlier run's conf in the DAG's params.
    return dag.test(run_conf={"dry_run": False, "retention_days": 90, **conf})


def _phones(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        phones = list(conn.execute(sa.select(campaign_contact.c.phone).order_by(campaign_contact.c.phone)).scalars())
    engine.dispose()
    return phones


def _names(url: str) -> tuple[str, ...]:
    engine = make_engine(url)
    with engine.connect() as conn:
        names = {json.loads(f).get("name") for f in conn.execute(sa.select(campaign_contact.c.fields_json)).scalars()}
    engine.dispose()
    return tuple(sorted(n for n in names if n))


def test_the_retention_dag(airflow_db, monkeypatch, tmp_path, capfd, caplog) -> None:
    caplog.set_level(logging.INFO)
    db_url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
    from vbotflow.store import db

    db.upgrade(db_url)
    day = vietnam_today() - timedelta(days=95)
    with project(db_url, tmp_path) as p:
        campaigns = build_day(p, day, seed=41, first_campaign_id=900, rows=80)
        backdate(db_url, day, campaigns, 0, 95)
    phones = _phones(db_url)
    criteria = {"nationals": tuple(f for phone in phones for f in national_forms(phone)), "names": _names(db_url)}
    assert len(phones) > 5 and len(criteria["names"]) > 5 and search_database(db_url, **criteria)
    monkeypatch.setenv("AIRFLOW_CONN_VBOTFLOW_DB", json.dumps({"conn_type": "generic",
                                                               "extra": {"sqlalchemy_url": db_url}}))
    monkeypatch.setenv("VBOTFLOW_VAR_DIR", str(p.var_dir))
    monkeypatch.delenv("VBOTFLOW_PRIVACY_KEY", raising=False)
    capfd.readouterr()

    run = _run()
    assert run.state == "failed"
    assert "VBOTFLOW_PRIVACY_KEY is not set" in capfd.readouterr().out + caplog.text
    assert _phones(db_url) == phones

    monkeypatch.setenv("VBOTFLOW_PRIVACY_KEY", KEY)
    too_short = _run(retention_days=2)
    assert too_short.state == "failed"
    assert "retention_days 2 is too short" in capfd.readouterr().out + caplog.text and _phones(db_url) == phones

    dry = _run(dry_run=True)
    assert dry.state == "success"
    counts = dry.get_task_instance("apply_retention").xcom_pull(task_ids="apply_retention")
    assert counts["dry_run"] is True and counts["rows"]["campaign_contact"] == len(phones)
    assert _phones(db_url) == phones

    done = _run()
    assert done.state == "success"
    counts = done.get_task_instance("apply_retention").xcom_pull(task_ids="apply_retention")
    assert counts["dry_run"] is False and counts["rows"]["campaign_contact"] == len(phones)
    assert counts["rows"]["webhook_event"] > 0 and counts["previews_deleted"] == 2
    assert all(is_phone_pseudonym(phone) for phone in _phones(db_url))
    assert search_database(db_url, **criteria) == []
    engine = make_engine(db_url)
    [entry] = audit.entries(engine)
    engine.dispose()
    assert entry["action"] == "retention" and entry["performed_by"].startswith("vbot_retention/manual__")
    # The task's log lines reach pytest's log capture, or stdout when Airflow's log set-up is this test's own.
    output = capfd.readouterr()
    logs = output.out + output.err + caplog.text
    assert "Retention before" in logs
    assert not mentions(logs, **criteria) and not mentions(json.dumps(counts), **criteria)
