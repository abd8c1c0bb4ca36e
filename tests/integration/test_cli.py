"""The ``vbotflow`` console script, run as an operator would, against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from vbotflow import outbox
from vbotflow.store import db

VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))


def _run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VBOTFLOW_DB_URL": url}
    return subprocess.run([VBOTFLOW, *args], capture_output=True, text=True, env=env, timeout=120)


def test_db_upgrade_from_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = _run(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"at revision {db.head_revision()}" in done.stdout
    assert _run(url, "db", "current").stdout.strip() == db.head_revision()


def test_list_and_resolve_an_ambiguous_run(db_url, engine) -> None:
    spec = outbox.ChunkSpec("hen_lich", date(2026, 11, 26), 3, 11, "hen_lich_20261126_3", 40, "c" * 64)
    assert outbox.claim_for_send(engine, spec) is None
    outbox.mark_ambiguous(engine, spec.run_key, "no answer from VBot")

    listing = _run(db_url, "campaign", "list", "--state", "ambiguous")
    assert listing.returncode == 0, listing.stderr
    assert "hen_lich/2026-11-26/003\tambiguous\t\t40\then_lich_20261126_3\tno answer from VBot" in listing.stdout

    done = _run(db_url, "campaign", "resolve", spec.run_key, "--created", "9001", "--by", "ops-an")
    assert done.returncode == 0, done.stderr
    assert "resolved: created as VBot campaign 9001" in done.stdout
    row = outbox.get_run(engine, spec.run_key)
    assert (row["state"], row["vbot_campaign_id"], row["resolved_by"]) == ("created", 9001, "ops-an")

    again = _run(db_url, "campaign", "resolve", spec.run_key, "--not-created")
    assert again.returncode == 2
    assert "is created; only a run in sending, ambiguous can be resolved as not created" in again.stderr
    assert outbox.get_run(engine, spec.run_key)["vbot_campaign_id"] == 9001


def test_resolve_needs_exactly_one_verdict(db_url) -> None:
    done = _run(db_url, "campaign", "resolve", "x/2026-11-26/001")
    assert done.returncode == 2
    assert "one of the arguments --created --not-created is required" in done.stderr


@pytest.mark.postgres
def test_crm_seed_never_prints_the_password_of_its_url(pg_server_url: str) -> None:
    # A throwaway database of its own: the CRM tables must not land in the session's integration DB.
    import uuid

    import sqlalchemy as sa

    name = f"vbotflow_test_crm_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    # Trust authentication ignores the password, so it can be any marker.
    url = sa.engine.make_url(pg_server_url).set(database=name, password="pw-marker-7731")
    try:
        done = _run(pg_server_url, "crm", "seed", "--url", url.render_as_string(hide_password=False),
                    "--rows", "20")
        assert done.returncode == 0, done.stderr
        assert "20 customers" in done.stdout
        assert "pw-marker-7731" not in done.stdout + done.stderr
        assert "***" in done.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
