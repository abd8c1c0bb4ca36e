"""The reconciliation report of a date range: KPIs refreshed, orphans counted, files written."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from vbotflow.reconcile.kpi import read_kpis, refresh_kpis, write_report
from vbotflow.reconcile.outcomes import orphan_attempts
from vbotflow.reconcile.run_range import range_label

log = logging.getLogger(__name__)


def make_report(engine: Engine, date_from: date, date_to: date, root: Path) -> dict[str, Any]:
    """Refresh ``kpi_daily`` for the range and write CSV + HTML + chart under ``root/<from>_<to>/``."""
    refresh_kpis(engine, date_from, date_to)
    kpis = read_kpis(engine, date_from, date_to)
    orphans = orphan_attempts(engine, date_from, date_to)
    span = range_label(date_from, date_to)
    totals = {
        "contacts": int(kpis["contacts"].sum()) if len(kpis) else 0,
        "answered": int(kpis["answered"].sum()) if len(kpis) else 0,
        "total_cost_vnd": str(sum(kpis["total_cost"], start=0)) if len(kpis) else "0",
        "orphan_attempts": len(orphans),
    }
    paths = write_report(kpis, root / span, f"VBot outcomes {span}", extra=totals)
    log.info("Report of %s: %d contact(s), %d answered, total cost %s VND, %d orphan attempt(s); written to %s",
             span, totals["contacts"], totals["answered"], totals["total_cost_vnd"], totals["orphan_attempts"],
             root / span)
    return {**totals, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "out_dir": str(root / span),
            "files": {k: str(v) for k, v in paths.items()}}
