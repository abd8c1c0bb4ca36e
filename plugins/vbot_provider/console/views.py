"""What each console page shows, gathered once for both its HTML page and its JSON twin."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status

from vbot_provider.console import airflow_runs, paths
from vbot_provider.console.access import RECONCILE_DAG_ID, Access
from vbot_provider.console.present import format_vnd
from vbotflow.campaigns import outbox
from vbotflow.campaigns.config import dag_id_for
from vbotflow.campaigns.list_store import config_names_on_record
from vbotflow.campaigns.rejects import reject_counts, rejected_rows
from vbotflow.privacy.masking import mask_phones_in_text
from vbotflow.reconcile import figures
from vbotflow.settings import var_dir
from vbotflow.store.tables import CAMPAIGN_RUN_STATES
from vbotflow.vbot.timestamps import VIETNAM

REJECTS_SHOWN = 500  # rows on the page; the CSV has them all
RECENT_RESOLVES = 20
TREND_DAYS = 30
REPORT_FILES = {"report.html": "text/html; charset=utf-8", "kpi_chart.png": "image/png",
                "kpi.csv": "text/csv; charset=utf-8"}
_SPAN = re.compile(r"^\d{4}-\d{2}-\d{2}(_\d{4}-\d{2}-\d{2})?$")


def parse_day(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query value; empty means "not given" (an HTML form sends empty fields)."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"{name} must be a date as YYYY-MM-DD, got {value[:40]!r}") from None


def parse_state(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if value not in CAMPAIGN_RUN_STATES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"state must be one of {', '.join(CAMPAIGN_RUN_STATES)}, got {value[:40]!r}")
    return value


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


@dataclass
class Links:
    """Where a campaign run is in Airflow's UI."""

    dag_run: str | None
    task: str | None
    dag: str


def run_view(row: dict[str, Any], ref: airflow_runs.TaskRef | None, ui_base: str, access: Access,
             audit: list[dict[str, Any]]) -> dict[str, Any]:
    """A campaign_run row as the console shows it: no payload, messages with phones masked, links."""
    dag_id = dag_id_for(row["config_name"])
    links = Links(
        dag_run=paths.dag_run_url(ui_base, ref.dag_id, ref.run_id) if ref else None,
        task=paths.task_url(ui_base, ref.dag_id, ref.run_id, ref.task_id, ref.map_index) if ref else None,
        dag=paths.dag_url(ui_base, dag_id),
    )
    return {
        "run_key": row["run_key"], "config_name": row["config_name"], "run_date": row["run_date"],
        "chunk_number": row["chunk_number"], "campaign_name": row["campaign_name"], "state": row["state"],
        "vbot_campaign_id": row["vbot_campaign_id"], "contacts": row["phone_count"],
        "attempts": row["attempts"], "created_at": row["created_at"], "sent_at": row["sent_at"],
        "updated_at": row["updated_at"], "resolved_by": row["resolved_by"],
        "error_message": mask_phones_in_text(row["error_message"]) if row["error_message"] else None,
        "dag_id": dag_id, "dag_run_id": ref.run_id if ref else None, "map_index": ref.map_index if ref else None,
        "dag_run_url": links.dag_run, "task_url": links.task, "dag_url": links.dag,
        "may_resolve": row["state"] in (*outbox.IN_FLIGHT_STATES, "failed") and access.may_resolve(row["config_name"]),
        "resolves": audit,
    }


def run_views(engine: Any, rows: list[dict[str, Any]], ui_base: str, access: Access) -> list[dict[str, Any]]:
    """``run_view`` of each row, with the task instances and resolve histories fetched once for all."""
    refs = airflow_runs.create_tasks(rows, lambda names: outbox.chunk_positions(engine, names))
    audit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in outbox.resolve_history(engine, [r["run_key"] for r in rows]):
        audit[entry["run_key"]].append(entry)
    return [run_view(r, refs.get(r["run_key"]), ui_base, access, audit[r["run_key"]]) for r in rows]


@dataclass
class CampaignsView:
    day: date | None
    config: str | None
    state: str | None
    configs: list[str]
    runs: list[dict[str, Any]]
    groups: list[dict[str, Any]] = field(default_factory=list)


def campaigns(engine: Any, access: Access, ui_base: str, day: str | None, config: str | None,
              state: str | None) -> CampaignsView:
    """Every campaign run of a day (default: the newest day with runs), grouped by day and config."""
    on_record = config_names_on_record(engine)
    configs = access.configs_to_show(config, on_record)
    wanted_state = parse_state(state)
    run_date = parse_day(day, "date") or outbox.latest_run_date(engine, configs)
    rows = outbox.list_runs(engine, state=wanted_state, run_date=run_date, config_names=configs) if run_date else []
    runs = run_views(engine, rows, ui_base, access)
    counts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if run_date:
        for entry in reject_counts(engine, run_date=run_date, config_names=configs):
            counts[entry["config_name"]].append(entry)
    groups = []
    for name in sorted({r["config_name"] for r in runs} | set(counts)):
        mine = [r for r in runs if r["config_name"] == name]
        groups.append({
            "config_name": name, "run_date": run_date, "runs": mine,
            "dag_url": paths.dag_url(ui_base, dag_id_for(name)),
            "states": {s: sum(1 for r in mine if r["state"] == s) for s in CAMPAIGN_RUN_STATES
                       if any(r["state"] == s for r in mine)},
            "contacts": sum(r["contacts"] for r in mine),
            "rejects": counts.get(name, []), "rejected": sum(e["count"] for e in counts.get(name, [])),
        })
    return CampaignsView(run_date, config, wanted_state, sorted(access.readable(on_record)), runs, groups)


@dataclass
class RejectsView:
    day: date | None
    config: str | None
    reason: str | None
    configs: list[str]
    counts: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    total: int


def rejects(engine: Any, access: Access, day: str | None, config: str | None, reason: str | None,
            limit: int | None = REJECTS_SHOWN) -> RejectsView:
    """Counts by reason per day and config, and the rejected rows themselves (masked)."""
    on_record = config_names_on_record(engine)
    configs = access.configs_to_show(config, on_record)
    run_date = parse_day(day, "date") or outbox.latest_run_date(engine, configs)
    reason = reason.strip() if reason and reason.strip() else None
    counts = reject_counts(engine, run_date=run_date, config_names=configs) if run_date else []
    rows = (rejected_rows(engine, run_date=run_date, config_names=configs, reason=reason, limit=limit)
            if run_date else [])
    total = sum(c["count"] for c in counts if reason is None or c["reason"] == reason)
    return RejectsView(run_date, config, reason, sorted(access.readable(on_record)), counts, rows, total)


@dataclass
class AmbiguousView:
    runs: list[dict[str, Any]]
    resolved: list[dict[str, Any]]


def ambiguous(engine: Any, access: Access, ui_base: str) -> AmbiguousView:
    """Runs waiting for a person (ambiguous, or sending: an attempt died mid-POST), and recent verdicts."""
    configs = access.configs_to_show(None, config_names_on_record(engine))
    rows = [r for s in outbox.IN_FLIGHT_STATES for r in outbox.list_runs(engine, state=s, config_names=configs)]
    rows.sort(key=lambda r: (r["run_date"], r["run_key"]), reverse=True)
    recent = [e for e in outbox.resolve_history(engine, limit=RECENT_RESOLVES * 5)
              if outbox.config_of_run_key(e["run_key"]) in configs][:RECENT_RESOLVES]
    # The runs as they are now (a run resolved as not created may have been rebuilt since, or be gone).
    current = [row for key in dict.fromkeys(e["run_key"] for e in recent) if (row := outbox.get_run(engine, key))]
    resolved = run_views(engine, current, ui_base, access)
    return AmbiguousView(run_views(engine, rows, ui_base, access), resolved)


@dataclass
class OutcomesView:
    date_from: date
    date_to: date
    config: str | None
    configs: list[str]
    totals: dict[str, Any]
    mix: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    report: dict[str, str] | None


def report_span(date_from: date, date_to: date) -> str:
    """The folder name ``make_report`` gives a range."""
    return date_from.isoformat() if date_from == date_to else f"{date_from.isoformat()}_{date_to.isoformat()}"


def report_file(span: str, name: str) -> Path:
    """A report file under ``var/reports/`` (only the three the report writes; no other path is reachable)."""
    if not _SPAN.match(span) or name not in REPORT_FILES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such report file")
    path = var_dir() / "reports" / span / name
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no report {name} for {span} on this server")
    return path


def outcomes(engine: Any, access: Access, ui_base: str, date_from: str | None, date_to: str | None,
             config: str | None) -> OutcomesView:
    """The KPI figures of a range (default: the newest day with figures) and the 30 days up to its end."""
    on_record = config_names_on_record(engine)
    configs = access.configs_to_show(config, on_record)
    end = parse_day(date_to, "to") or figures.latest_report_date(engine, configs) or today_in_vietnam()
    start = parse_day(date_from, "from") or end
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"from {start} is after to {end}")
    totals = figures.totals(engine, start, end, configs)
    totals["total_cost_text"] = format_vnd(totals["total_cost"])
    mix = figures.outcome_mix(engine, start, end, configs)
    for row in mix:
        row["total_cost_text"] = format_vnd(row["total_cost"])
    span = report_span(start, end)
    report = None
    if access.may("GET", RECONCILE_DAG_ID) and (var_dir() / "reports" / span / "report.html").is_file():
        report = {name: paths.console_url(f"reports/{span}/{name}", ui_base) for name in REPORT_FILES}
    return OutcomesView(start, end, config, sorted(access.readable(on_record)), totals, mix,
                        figures.daily_trend(engine, end, TREND_DAYS, configs), report)
