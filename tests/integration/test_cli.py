"""The ``vbotflow`` console script, run as an operator would, against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from vbotflow.campaigns import outbox
from vbotflow.campaigns.transform import REASONS
from vbotflow.store import db

VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))
CAMPAIGNS = Path(__file__).resolve().parents[2] / "include" / "campaigns"


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

    # The CLI writes the same audit row as the console (one per verdict taken, none for the refused one).
    [audit] = outbox.resolve_history(engine)
    assert (audit["run_key"], audit["verdict"], audit["vbot_campaign_id"], audit["state_before"],
            audit["state_after"], audit["resolved_by"], audit["resolved_via"]) == (
        spec.run_key, "created", 9001, "ambiguous", "created", "ops-an", "cli")
    history = _run(db_url, "campaign", "history", spec.run_key)
    assert history.returncode == 0, history.stderr
    [line] = history.stdout.splitlines()[1:]
    assert line.split("\t")[1:] == [spec.run_key, "created", "9001", "ambiguous", "created", "ops-an", "cli"]


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


def test_transform_preview_and_suppression_import(tmp_path) -> None:
    crm = f"sqlite:///{tmp_path / 'crm.db'}"
    seeded = _run("sqlite://", "crm", "seed", "--url", crm, "--rows", "300", "--today", "2026-11-26")
    assert seeded.returncode == 0, seeded.stderr

    out = tmp_path / "preview"
    done = _run("sqlite://", "transform", "--config", str(CAMPAIGNS / "payment_reminder.yaml"), "--crm-url", crm,
                "--date", "2026-11-26", "--out", str(out))
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.splitlines()[0])
    assert counts == json.loads((out / "counts.json").read_text())
    assert counts["extracted"] == counts["accepted"] + counts["rejected"] > 0
    assert sum(counts["chunks"].values()) == counts["accepted"]
    assert len((out / "rejected.csv").read_text().splitlines()) == counts["rejected"] + 1
    # Every rejected row says why, in words; the phone cells a person reads there are masked.
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    assert set(rejected["reason"]) <= set(REASONS) and (rejected["detail"] != "").all()
    assert rejected["reason"].value_counts().to_dict() == counts["rejected_by_reason"]
    assert not rejected["raw_phone"].str.contains(r"\d{5}").any()
    payload = json.loads((out / "payload_chunk_001.json").read_text())
    phones = [f["value"] for p in payload["phones"] for f in p["fields"] if f["key"] == "phone"]
    assert phones and all(p[2:8] == "******" for p in phones)

    url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
    assert _run(url, "db", "upgrade").returncode == 0
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("so_dien_thoai\n0912 345 678\n+84912345678\n024 3822 1234\nkhông có\n0387654321\n"
                   "\"0971 111 111, 0972 222 222\"\n0973333333 (khách yêu cầu)\n+912345678\n", encoding="utf-8")
    imported = _run(url, "suppression", "import", str(dnc))
    assert imported.returncode == 0, imported.stderr
    assert ("read 8 line(s): 5 added, 0 already suppressed, rejected "
            "{'foreign_number': 1, 'invalid_phone': 1, 'not_mobile': 1}" in imported.stdout)
    again = _run(url, "suppression", "import", str(dnc))
    assert "0 added, 5 already suppressed" in again.stdout
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT phone, reason FROM suppression ORDER BY phone")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(p, "national_dnc") for p in (
        "0387654321", "0912345678", "0971111111", "0972222222", "0973333333")]


def test_airflow_lists_the_vbot_provider_and_its_connection_type() -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    providers = subprocess.run([airflow, "providers", "list", "-o", "json"], capture_output=True, text=True,
                               timeout=120, env=os.environ.copy())
    assert providers.returncode == 0, providers.stderr
    assert any(p["package_name"] == "vbotflow" for p in json.loads(providers.stdout))
    hooks = subprocess.run([airflow, "providers", "hooks", "-o", "json"], capture_output=True, text=True,
                           timeout=120, env=os.environ.copy())
    vbot = [h for h in json.loads(hooks.stdout) if h.get("connection_type") == "vbot"]
    assert vbot and vbot[0]["class"] == "vbot_provider.hooks.vbot.VBotHook"
