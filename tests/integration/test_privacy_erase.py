"""``vbotflow privacy erase``: one person out of every table and file, the number kept only in suppression,
every KPI as it was; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import requests
import sqlalchemy as sa

from tests.integration.privacy_support import (
    CONFIG,
    KEY,
    NAME,
    PHONE,
    build_day,
    kpi_snapshot,
    mentions,
    project,
    search_database,
    search_files,
    send_chunks,
    vietnam_today,
)
from tests.integration.receiver_support import autocall_body, post
from vbotflow.privacy import audit
from vbotflow.privacy.pseudonyms import Pseudonymiser
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.spool import Spool
from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_contact, campaign_run, suppression

# Run through a logging set-up that prints every record of every logger: the logs of the run are searched too.
_CLI = "import logging, sys; logging.basicConfig(level=logging.DEBUG); from vbotflow.cli.main import main; " \
       "sys.exit(main())"
ALL_TABLES = {"campaign_contact", "contact_outcome", "rejected_contact", "call_attempt", "webhook_event",
              "webhook_call_record"}


def _cli(p, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VBOTFLOW")}
    env.update(VBOTFLOW_VAR_DIR=str(p.var_dir), VBOTFLOW_SPOOL_DIR=str(p.spool_dir))
    if key:
        env["VBOTFLOW_PRIVACY_KEY"] = key
    return subprocess.run([sys.executable, "-c", _CLI, "--url", p.db_url, *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _tables(found: list[str]) -> set[str]:
    return {f.split(".")[0] for f in found}


def _contacts(url: str, ids: list[int] | None = None) -> list[dict]:
    """Everyone else's contact rows (``ids``: the same rows again)."""
    cc = campaign_contact
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            sa.select(cc).where(cc.c.phone != PHONE if ids is None else cc.c.campaign_contact_id.in_(ids))
            .order_by(cc.c.campaign_contact_id)).mappings()]
    engine.dispose()
    return rows


def _still_arriving(p, campaign_id: int) -> None:
    """A result spooled while the database was away, and a dead letter naming the person."""
    body = autocall_body(campaign_id=campaign_id, phone="84329876543", create_at="11/26/2026 10:05:00", status=2)
    body.update(name=NAME, description="gọi lại 0162 987 6543")
    Spool(p.spool_dir).append(Delivery(received_at=datetime.now(UTC), endpoint="autocall",
                                       body=json.dumps(body).encode(), headers={}, remote_addr="127.0.0.1"))
    dead = post(p.receiver_url, "/webhooks/vbot", {"campaign_id": campaign_id, "phone": 329876543, "name": NAME,
                                                   "create_at": "11/26/2026 10:06:00", "status": 200})
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_body"


def test_erase_leaves_the_number_only_in_suppression_and_every_kpi_as_it_was(db_url, tmp_path) -> None:
    day = vietnam_today()
    with project(db_url, tmp_path) as p:
        campaigns = build_day(p, day, seed=21, first_campaign_id=700, with_person=True)
        _still_arriving(p, campaigns[0])

        # The person is everywhere the project keeps data, in several spellings (else this test proves nothing).
        assert _tables(search_database(p.db_url)) == ALL_TABLES
        assert {f.split("/")[0] for f in search_files(p.var_dir)} == {"spool", "previews"}
        before = kpi_snapshot(p.db_url, day, day, rebuild=True)
        others = _contacts(p.db_url)

        dry = _cli(p, "privacy", "erase", "--phone", "0162 987 6543", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "Dry run, nothing changed" in dry.stdout and "would be de-identified" in dry.stdout
        assert _tables(search_database(p.db_url)) == ALL_TABLES  # a dry run changes nothing

        done = _cli(p, "privacy", "erase", "--phone", "0162 987 6543", "--by", "dpo@example", "--crm-url", p.crm_url)
        assert done.returncode == 0, done.stderr

        assert search_database(p.db_url) == []
        assert search_files(p.var_dir) == []
        assert not mentions(done.stdout + done.stderr) and not mentions(dry.stdout + dry.stderr)
        assert "INFO:vbotflow.privacy.erase:Erasure of person" in done.stderr  # the run's logs were searched too

        assert kpi_snapshot(p.db_url, day, day) == before
        assert kpi_snapshot(p.db_url, day, day, rebuild=True) == before
        engine = make_engine(p.db_url)
        assert parse_new_events(engine, settle_seconds=0, full=True).attempts_added == 0  # events and attempts agree
        with engine.connect() as conn:
            kept = conn.execute(sa.select(suppression).where(suppression.c.phone == PHONE)).mappings().one()
        assert (kept["reason"], kept["source"], kept["expires_at"]) == ("opt_out", "erasure", None)
        assert _contacts(p.db_url, [r["campaign_contact_id"] for r in others]) == others and len(others) >= 10

        subject = Pseudonymiser(KEY.encode()).phone_subject(PHONE)
        [entry] = audit.entries(engine, subject_hash=subject)
        assert entry["action"] == "erase" and entry["performed_by"] == "dpo@example"
        assert {t for t, n in entry["rows"].items() if n} == ALL_TABLES | {"suppression"}
        assert entry["files"]["spool"] == 1 and entry["files"]["previews"] >= 2
        assert f"recorded as privacy_audit row {entry['audit_id']}" in done.stdout
        engine.dispose()
        # The CRM is its owner's: its write-back rows are counted and left, and the output says whose they are.
        crm = make_engine(p.crm_url)
        with crm.connect() as conn:
            written = conn.execute(sa.text("SELECT count(*) FROM vbot_call_outcome WHERE contact_id = '5001'")).scalar()
        crm.dispose()
        assert written == 1
        assert "contact id(s) 5001, 5002; 1 row(s) in its table vbot_call_outcome" in done.stdout

        listed = _cli(p, "privacy", "audit", "--phone", "+84 32 987 6543")
        assert listed.returncode == 0, listed.stderr
        [line] = listed.stdout.splitlines()[1:]
        assert line.startswith(f"{entry['audit_id']}\terase\t") and "\tdpo@example\t" in line
        assert f"\t{subject[:12]}\t" in line and "1 audit row(s)" in listed.stderr and not mentions(listed.stdout)

        again = _cli(p, "privacy", "erase", "--phone", PHONE)
        assert again.returncode == 0, again.stderr
        assert "0 row(s) were de-identified" in again.stdout and " 1 row(s)" not in again.stdout


def test_erase_refuses_what_it_cannot_do_and_changes_nothing(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
    with project(db_url, tmp_path) as p:
        from vbotflow.store import db

        db.upgrade(db_url)
        landed = post(p.receiver_url, "/webhooks/vbot", autocall_body(phone=PHONE, name=NAME))
        assert landed.status_code == 200
        no_key = _cli(p, "privacy", "erase", "--phone", PHONE, key=None)
        assert no_key.returncode == 2
        assert "VBOTFLOW_PRIVACY_KEY is not set" in no_key.stderr and "Nothing was changed" in no_key.stderr
        short_key = _cli(p, "privacy", "erase", "--phone", PHONE, key="short")
        assert short_key.returncode == 2 and "shorter than 16 characters" in short_key.stderr
        landline = _cli(p, "privacy", "erase", "--phone", "024 3822 1234")
        assert landline.returncode == 2
        assert "is not a Vietnamese mobile number" in landline.stderr and "CRM contact id" in landline.stderr
        config_alone = _cli(p, "privacy", "erase", "--phone", PHONE, "--config", CONFIG)
        assert config_alone.returncode == 2 and "a phone number needs none" in config_alone.stderr
        assert _tables(search_database(db_url)) == {"webhook_event"}
        engine = make_engine(db_url)
        assert audit.entries(engine) == []
        engine.dispose()


def test_a_person_erased_before_their_campaign_is_sent_is_not_sent(tmp_path) -> None:
    from tests.integration.privacy_support import add_person
    from tests.integration.sim_http import fast_config, sim_get
    from vbotflow.campaigns.build import build_daily_list
    from vbotflow.campaigns.config import load_config
    from vbotflow.vbot.api import build_create_body
    from vbotflow_dev.demo_crm import seed_crm
    from vbotflow_dev.simulator.server import run_simulator_in_thread

    db_url, day = f"sqlite:///{tmp_path / 'vbotflow.db'}", vietnam_today()
    with project(db_url, tmp_path) as p:
        from vbotflow.store import db

        db.upgrade(db_url)
        seed_crm(p.crm_url, 30, seed=5, today=day)
        add_person(p.crm_url, day)
        config = load_config(p.configs_dir / f"{CONFIG}.yaml")
        engine, crm = make_engine(db_url), make_engine(p.crm_url)
        build_daily_list(config=config, run_date=day, crm_engine=crm, db_engine=engine,
                         body_for=lambda name, contacts: build_create_body(
                             vbot_id="1", group_code="G", template_id=config.template_id, name=name, contacts=contacts))
        done = _cli(p, "privacy", "erase", "--crm-contact-id", "5001", "--config", CONFIG)
        assert done.returncode == 0, done.stderr
        assert "1 contact(s) were taken out of campaign lists not yet sent to VBot" in done.stdout
        with engine.connect() as conn:
            planned = conn.execute(sa.select(sa.func.sum(campaign_run.c.phone_count))).scalar_one()
        with run_simulator_in_thread(fast_config()) as sim_url:
            send_chunks(engine, sim_url, CONFIG, day, config.template_id)
            sent = [f["value"] for c in sim_get(sim_url, "creates") for contact in c["body"]["phones"]
                    for f in contact["fields"] if f["key"] == "phone"]
        with engine.connect() as conn:
            recorded = conn.execute(sa.select(sa.func.sum(campaign_run.c.phone_count))).scalar_one()
        engine.dispose()
        crm.dispose()
        assert PHONE not in sent and len(sent) == planned - 1 == recorded > 0
        assert all(not p.startswith("000") for p in sent)
        assert search_database(db_url) == []
        response = requests.get(f"{p.receiver_url}/healthz", timeout=5)
        assert response.status_code == 200
