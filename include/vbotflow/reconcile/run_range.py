"""Which campaign run dates one reconciliation run covers: decided by the run, never by the clock.

A run reconciles the same days whenever it runs — first time, retried, or cleared a week later —
so every task of it agrees and a rerun repeats what the first run did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from vbotflow.vbot.timestamps import run_date_in_vietnam


def _day(value: str | date | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as err:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from err


def reconcile_range(*, interval_start: datetime, interval_end: datetime, date_from: str | date | None = None,
                    date_to: str | date | None = None, asset_run_dates: Iterable[str | date] = ()) -> tuple[date, date]:
    """The first and last campaign run date to reconcile.

    Explicit ``date_from``/``date_to`` win, each on its own. Otherwise: the run dates the triggering
    asset events carry (a campaign DAG's ``run_date``), first to last; without those, the run's
    interval in Vietnam days, from the day before it starts (results of yesterday's campaigns keep
    arriving) to the day it ends.
    """
    carried = sorted(day for day in (_day(d, "asset event run_date") for d in asset_run_dates) if day)
    if carried:
        default_from, default_to = carried[0], carried[-1]
    else:
        default_from = run_date_in_vietnam(interval_start) - timedelta(days=1)
        default_to = run_date_in_vietnam(interval_end)
    first = _day(date_from, "date_from") or default_from
    last = _day(date_to, "date_to") or default_to
    if first > last:
        raise ValueError(f"date_from {first} is after date_to {last}")
    return first, last


def range_label(date_from: date, date_to: date) -> str:
    """How a range names its report folder: ``2026-11-26``, or ``2026-11-25_2026-11-26``."""
    return date_from.isoformat() if date_from == date_to else f"{date_from.isoformat()}_{date_to.isoformat()}"
