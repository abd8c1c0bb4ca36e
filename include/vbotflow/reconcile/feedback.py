"""What call results teach the next day's lists: numbers never to call again, and who may be called again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.reconcile.sql import domestic_phone
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    contact_outcome,
    suppression,
    webhook_call_record,
)
from vbotflow.store.upsert import insert_ignoring_duplicates
from vbotflow.vbot_api import OPT_OUT_DISPOSITION, SUPPRESS_CODES


def feed_suppression(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Bad numbers (101, 106) and DONTCALL dispositions into ``suppression``; returns new rows per reason."""
    now = now or datetime.now(UTC)
    bad = sa.select(call_attempt.c.phone, sa.func.min(call_attempt.c.status_code)).where(
        call_attempt.c.status_code.in_(SUPPRESS_CODES)).group_by(call_attempt.c.phone)
    opt_out = sa.select(domestic_phone(webhook_call_record.c.callee)).distinct().where(
        sa.func.upper(webhook_call_record.c.disposition) == OPT_OUT_DISPOSITION,
        webhook_call_record.c.callee.is_not(None), ~webhook_call_record.c.callee.contains(","))
    with engine.begin() as conn:
        bad_rows = [{"phone": p, "reason": "bad_number", "source": f"vbot:{code}", "created_at": now}
                    for p, code in conn.execute(bad)]
        opt_rows = [{"phone": p, "reason": "opt_out", "source": "vbot:DONTCALL", "created_at": now}
                    for (p,) in conn.execute(opt_out) if p]
        return {"bad_number": insert_ignoring_duplicates(conn, suppression, bad_rows),
                "opt_out": insert_ignoring_duplicates(conn, suppression, opt_rows)}


def recycling_state(engine: Engine, config_name: str, run_date: date, retry_after_hours: float,
                    now: datetime | None = None) -> tuple[pd.Series, list[str]]:
    """For list recycling: earlier unanswered sends per phone of this config, and phones too recent to retry.

    Returns (attempts used per phone, phones whose last unanswered send is within ``retry_after_hours``).
    """
    now = now or datetime.now(UTC)
    cc, co = campaign_contact, contact_outcome
    query = (
        sa.select(cc.c.phone, sa.func.count().label("used"), sa.func.max(cc.c.created_at).label("last_sent"))
        .join(co, co.c.campaign_contact_id == cc.c.campaign_contact_id)
        .where(cc.c.config_name == config_name, cc.c.logical_date < run_date, co.c.outcome == "not_reached")
        .group_by(cc.c.phone)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    used = pd.Series({phone: int(n) for phone, n, _ in rows}, dtype="int64")
    since = now - timedelta(hours=retry_after_hours)
    too_recent = [phone for phone, _, last in rows if last is not None and _aware(last) > since]
    return used, too_recent


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
