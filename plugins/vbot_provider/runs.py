"""What a DAG run is about, read from its context: the run date of a campaign run, the days a
reconciliation run covers. One rule for every DAG and operator, so one day has one run key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from vbotflow.reconcile.run_range import reconcile_range
from vbotflow.vbot.timestamps import run_date_in_vietnam


def run_moment(context: Mapping[str, Any]) -> datetime:
    """The instant a run stands for: its logical date, or — runs without one (Airflow 3 manual and
    asset-triggered runs may have none) — the time it was due to run."""
    return context.get("logical_date") or context["dag_run"].run_after


def campaign_run_date(context: Mapping[str, Any], explicit: date | str | None = None) -> date:
    """The Vietnam calendar day a campaign run builds and sends: ``explicit`` (the ``run_date`` param
    or operator argument) when given, else the run's moment in Vietnam time (a run at 20:00 UTC on
    the 26th is the 27th's run)."""
    if explicit:
        return explicit if isinstance(explicit, date) else date.fromisoformat(str(explicit)[:10])
    return run_date_in_vietnam(run_moment(context))


def triggering_run_dates(context: Mapping[str, Any]) -> list[str]:
    """The ``run_date`` extras of the asset events that triggered this run (none for other runs)."""
    events = context.get("triggering_asset_events") or {}
    dates: list[str] = []
    for asset in events:
        for event in events[asset]:
            run_date = (getattr(event, "extra", None) or {}).get("run_date")
            if run_date:
                dates.append(str(run_date))
    return dates


def reconcile_range_of_run(context: Mapping[str, Any]) -> tuple[date, date]:
    """The campaign run dates this reconciliation run covers (see ``vbotflow.reconcile.run_range``)."""
    params = context.get("params") or {}
    moment = run_moment(context)
    return reconcile_range(
        interval_start=context.get("data_interval_start") or moment,
        interval_end=context.get("data_interval_end") or moment,
        date_from=params.get("date_from"), date_to=params.get("date_to"),
        asset_run_dates=triggering_run_dates(context),
    )
