"""What `make demo` runs, run for real; its printed summary checked against the database, and its logs
searched for the demo CRM's customers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.airflow


def test_demo_summary_matches_the_database(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VBOTFLOW"))}
    env["VBOTFLOW_VAR_DIR"] = str(tmp_path / "demo")
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py")], capture_output=True, text=True,
                          env=env, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "running vbot_reconcile" in done.stdout and "call results delivered" in done.stdout
    assert "with vbot_preview (nothing is sent)" in done.stdout
    assert (tmp_path / "demo" / "previews").is_dir()
    summary = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("SUMMARY "))[8:])

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo' / 'vbotflow.db'}")
    with engine.connect() as conn:
        created = conn.execute(sa.text("SELECT count(*), sum(phone_count) FROM campaign_run "
                                       "WHERE state = 'created'")).one()
        rejects = dict(conn.execute(sa.text("SELECT reason, count(*) FROM rejected_contact GROUP BY reason")).all())
        answered = conn.execute(sa.text("SELECT count(*) FROM contact_outcome WHERE is_answered")).scalar_one()
        attempts = conn.execute(sa.text("SELECT count(*) FROM call_attempt")).scalar_one()
        missing = conn.execute(sa.text("SELECT count(*) FROM contact_outcome WHERE outcome IN ('missing', "
                                       "'pending')")).scalar_one()
    engine.dispose()
    assert (summary["campaigns"], summary["contacts_sent"]) == tuple(created) and summary["campaigns"] >= 2
    assert summary["rejected_by_reason"] == rejects and summary["rejected"] == sum(rejects.values())
    assert summary["answered"] == answered > 0 and summary["attempts"] == attempts and missing == 0

    report_dir = tmp_path / "demo" / "reports" / summary["date"]
    kpi = pd.read_csv(report_dir / "kpi.csv")
    assert int(kpi["answered"].sum()) == summary["answered"]
    assert Decimal(str(round(kpi["total_cost"].sum(), 2))).quantize(Decimal("0.01")) == Decimal(summary["total_cost"])
    assert (report_dir / "kpi_chart.png").stat().st_size > 1000 and (report_dir / "report.html").exists()

    # Airflow's task logs (and the receiver's and simulator's) name no customer and hold no number in clear,
    # the preview's included.
    crm = sa.create_engine(f"sqlite:///{tmp_path / 'demo' / 'crm.db'}")
    with crm.connect() as conn:
        customers = conn.execute(sa.text("SELECT full_name, phone FROM customers")).all()
        branches = set(conn.execute(sa.text("SELECT DISTINCT branch FROM appointments")).scalars())
    crm.dispose()
    log = (tmp_path / "demo" / "demo.log").read_text(encoding="utf-8", errors="replace")
    assert "Nothing was sent" in log and "vbot_reconcile" in log
    names = {name for name, _ in customers if name}
    assert len(names) > 700
    assert sorted(n for n in names if n in log) == []
    assert sorted(b for b in branches if b and b in log) == []
    runs = {re.sub(r"\D", "", r) for r in re.findall(r"\d(?:[\s.\-()/+]*\d)*", log)}
    nationals = {re.sub(r"\D", "", phone or "")[-9:] for _, phone in customers}
    nationals = {n for n in nationals if len(n) == 9 and n[0] != "0"}
    assert len(nationals) > 700
    assert sorted(n for n in nationals if any(n in run for run in runs)) == []
