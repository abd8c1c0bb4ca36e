"""The outcome figures people read: totals of a date range, the outcome mix per campaign, a daily trend.

Read from what the reconciliation wrote (``kpi_daily``, ``contact_outcome``); nothing is recomputed
here, so the figures are those of the report files. Money stays exact: sums in integer hundredths.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.store.money import hundredths
from vbotflow.store.tables import contact_outcome, kpi_daily
from vbotflow.vbot.status import OUTCOME_CLASSES

# Every value of contact_outcome.outcome, in the order a reader scans them.
OUTCOMES = (*OUTCOME_CLASSES, "missing", "pending")


def _configs(query: sa.Select, column: sa.ColumnElement, config_names: Collection[str] | None) -> sa.Select:
    return query if config_names is None else query.where(column.in_(sorted(config_names)))


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def latest_report_date(engine: Engine, config_names: Collection[str] | None = None) -> date | None:
    """The newest day ``kpi_daily`` has figures for, or None."""
    query = _configs(sa.select(sa.func.max(kpi_daily.c.report_date)), kpi_daily.c.config_name, config_names)
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    return date.fromisoformat(value) if isinstance(value, str) else value


def totals(engine: Engine, date_from: date, date_to: date, config_names: Collection[str] | None = None
           ) -> dict[str, Any]:
    """Contacts, called, answered, answer rate, talk time (seconds) and cost of the range, all configs summed."""
    kd, co = kpi_daily, contact_outcome
    kpi_query = _configs(
        sa.select(sa.func.coalesce(sa.func.sum(kd.c.contacts), 0), sa.func.coalesce(sa.func.sum(kd.c.called), 0),
                  sa.func.coalesce(sa.func.sum(kd.c.answered), 0),
                  sa.func.coalesce(sa.func.sum(hundredths(kd.c.total_cost)), 0),
                  sa.func.coalesce(sa.func.sum(kd.c.rejected), 0))
        .where(kd.c.report_date >= date_from, kd.c.report_date <= date_to), kd.c.config_name, config_names)
    # Talk time is not in kpi_daily (only its average): the outcomes hold it per contact.
    talk_query = _configs(
        sa.select(sa.func.coalesce(sa.func.sum(co.c.talk_seconds), 0))
        .where(co.c.run_date >= date_from, co.c.run_date <= date_to, co.c.is_answered), co.c.config_name,
        config_names)
    with engine.connect() as conn:
        contacts, called, answered, cost_h, rejected = (int(v) for v in conn.execute(kpi_query).one())
        talk = int(conn.execute(talk_query).scalar_one())
    return {
        "contacts": contacts, "called": called, "answered": answered, "answer_rate": _rate(answered, called),
        "talk_seconds": talk, "avg_talk_seconds": (Decimal(talk) / answered).quantize(Decimal("0.01"))
        if answered else None,
        "total_cost": Decimal(cost_h).scaleb(-2), "rejected": rejected,
    }


def outcome_mix(engine: Engine, date_from: date, date_to: date, config_names: Collection[str] | None = None
                ) -> list[dict[str, Any]]:
    """One row per day, config and VBot campaign: contacts per outcome, answered, talk time and cost."""
    co = contact_outcome
    counts = [sa.func.sum(sa.case((co.c.outcome == name, 1), else_=0)).label(name) for name in OUTCOMES]
    query = _configs(
        sa.select(co.c.run_date, co.c.config_name, co.c.vbot_campaign_id, co.c.run_key,
                  sa.func.count().label("contacts"),
                  sa.func.sum(sa.case((co.c.attempts > 0, 1), else_=0)).label("called"),
                  sa.func.sum(sa.case((co.c.is_answered, co.c.talk_seconds), else_=0)).label("talk_seconds"),
                  sa.func.sum(hundredths(co.c.total_cost)).label("cost_h"), *counts)
        .where(co.c.run_date >= date_from, co.c.run_date <= date_to)
        .group_by(co.c.run_date, co.c.config_name, co.c.vbot_campaign_id, co.c.run_key)
        .order_by(co.c.run_date.desc(), co.c.config_name, co.c.run_key), co.c.config_name, config_names)
    rows = []
    with engine.connect() as conn:
        for r in conn.execute(query).mappings():
            mix = {name: int(r[name] or 0) for name in OUTCOMES}
            rows.append({
                "run_date": date.fromisoformat(r["run_date"]) if isinstance(r["run_date"], str) else r["run_date"],
                "config_name": r["config_name"], "vbot_campaign_id": int(r["vbot_campaign_id"]),
                "run_key": r["run_key"], "contacts": int(r["contacts"]), "called": int(r["called"] or 0),
                "outcomes": mix, "answer_rate": _rate(mix["answered"], int(r["called"] or 0)),
                "talk_seconds": int(r["talk_seconds"] or 0), "total_cost": Decimal(int(r["cost_h"] or 0)).scaleb(-2),
            })
    return rows


def daily_trend(engine: Engine, end: date, days: int = 30, config_names: Collection[str] | None = None
                ) -> list[dict[str, Any]]:
    """``days`` rows ending on ``end``, one per day (zeros on days without figures), all configs summed."""
    start = end - timedelta(days=days - 1)
    kd = kpi_daily
    query = _configs(
        sa.select(kd.c.report_date, sa.func.sum(kd.c.contacts), sa.func.sum(kd.c.called),
                  sa.func.sum(kd.c.answered), sa.func.sum(hundredths(kd.c.total_cost)))
        .where(kd.c.report_date >= start, kd.c.report_date <= end)
        .group_by(kd.c.report_date), kd.c.config_name, config_names)
    with engine.connect() as conn:
        found = {(date.fromisoformat(d) if isinstance(d, str) else d): (int(c), int(k), int(a), int(h))
                 for d, c, k, a, h in conn.execute(query)}
    rows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        contacts, called, answered, cost_h = found.get(day, (0, 0, 0, 0))
        rows.append({"day": day, "contacts": contacts, "called": called, "answered": answered,
                     "answer_rate": _rate(answered, called), "total_cost": Decimal(cost_h).scaleb(-2)})
    return rows
