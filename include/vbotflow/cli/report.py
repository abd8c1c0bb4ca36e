"""``vbotflow report``: the reconciliation report outside Airflow."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path


def _report(args: argparse.Namespace) -> int:
    from vbotflow.reconcile.attempts import parse_new_events
    from vbotflow.reconcile.outcomes import refresh_outcomes
    from vbotflow.reconcile.report import make_report
    from vbotflow.store.db import make_engine

    date_from = date.fromisoformat(args.date)
    date_to = date.fromisoformat(args.to) if args.to else date_from
    engine = make_engine(args.url)
    try:
        parsed = parse_new_events(engine, settle_seconds=args.settle_seconds)
        refresh_outcomes(engine, date_from, date_to, missing_after_hours=args.missing_after_hours)
        summary = make_report(engine, date_from, date_to, Path(args.out))
    finally:
        engine.dispose()
    summary["attempts_added"] = parsed.attempts_added
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    report = groups.add_parser("report", help="reconcile and write the KPI report (CSV, HTML, chart)")
    report.add_argument("--date", required=True, help="campaign run date (YYYY-MM-DD)")
    report.add_argument("--to", help="last date of a range (default: --date)")
    report.add_argument("--out", required=True, help="folder for the report (a subfolder per range)")
    report.add_argument("--settle-seconds", type=float, default=0, help="skip webhook events younger than this")
    report.add_argument("--missing-after-hours", type=float, default=24)
    report.set_defaults(handler=_report)
