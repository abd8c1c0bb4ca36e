"""What call results teach the next day's lists: numbers never to call again (``suppression``)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.phone.reference import numbers_in_cell
from vbotflow.store.tables import call_attempt, suppression, webhook_call_record
from vbotflow.store.upsert import insert_ignoring_duplicates
from vbotflow.vbot.status import OPT_OUT_DISPOSITION, SUPPRESS_CODES


def feed_suppression(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Bad numbers (101, 106) and DONTCALL dispositions into ``suppression``; returns new rows per reason."""
    now = now or datetime.now(UTC)
    bad = sa.select(call_attempt.c.phone, sa.func.min(call_attempt.c.status_code)).where(
        call_attempt.c.status_code.in_(SUPPRESS_CODES)).group_by(call_attempt.c.phone)
    # The callee as VBot wrote it (lists joined with commas: a call to several numbers says
    # nothing about which one opted out). Few rows: read in Python, as the daily list reads phones.
    opt_out = sa.select(webhook_call_record.c.callee).distinct().where(
        sa.func.upper(webhook_call_record.c.disposition) == OPT_OUT_DISPOSITION,
        webhook_call_record.c.callee.is_not(None), ~webhook_call_record.c.callee.contains(","))
    with engine.begin() as conn:
        bad_rows = [{"phone": p, "reason": "bad_number", "source": f"vbot:{code}", "created_at": now}
                    for p, code in conn.execute(bad)]
        opted_out = {phone for (callee,) in conn.execute(opt_out) for phone in numbers_in_cell(callee)}
        opt_rows = [{"phone": p, "reason": "opt_out", "source": "vbot:DONTCALL", "created_at": now}
                    for p in sorted(opted_out)]
        return {"bad_number": insert_ignoring_duplicates(conn, suppression, bad_rows),
                "opt_out": insert_ignoring_duplicates(conn, suppression, opt_rows)}
