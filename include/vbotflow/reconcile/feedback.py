"""What call results teach the next day's lists: numbers never to call again (``suppression``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.phone.reference import numbers_in_cell
from vbotflow.privacy.pseudonyms import phone_is_pseudonym
from vbotflow.store.tables import call_attempt, suppression, webhook_call_record
from vbotflow.store.upsert import insert_ignoring_duplicates
from vbotflow.vbot.status import OPT_OUT_DISPOSITION, SUPPRESS_CODES

log = logging.getLogger(__name__)


def feed_suppression(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Bad numbers (101, 106) and DONTCALL dispositions into ``suppression``; returns new rows per reason.

    De-identified rows (pseudonyms, no number) were fed before they lost the number: skipped.
    """
    now = now or datetime.now(UTC)
    bad = sa.select(call_attempt.c.phone, sa.func.min(call_attempt.c.status_code)).where(
        call_attempt.c.status_code.in_(SUPPRESS_CODES), ~phone_is_pseudonym(call_attempt.c.phone)
    ).group_by(call_attempt.c.phone)
    # The callee as VBot wrote it (lists joined with commas: a call to several numbers says
    # nothing about which one opted out). Few rows: read in Python, as the daily list reads phones.
    opt_out = sa.select(webhook_call_record.c.callee).distinct().where(
        sa.func.upper(webhook_call_record.c.disposition) == OPT_OUT_DISPOSITION,
        webhook_call_record.c.callee.is_not(None), ~webhook_call_record.c.callee.contains(","),
        ~phone_is_pseudonym(webhook_call_record.c.callee))
    with engine.begin() as conn:
        bad_rows = [{"phone": p, "reason": "bad_number", "source": f"vbot:{code}", "created_at": now}
                    for p, code in conn.execute(bad)]
        opted_out = {phone for (callee,) in conn.execute(opt_out) for phone in numbers_in_cell(callee)}
        opt_rows = [{"phone": p, "reason": "opt_out", "source": "vbot:DONTCALL", "created_at": now}
                    for p in sorted(opted_out)]
        added = {"bad_number": insert_ignoring_duplicates(conn, suppression, bad_rows),
                 "opt_out": insert_ignoring_duplicates(conn, suppression, opt_rows)}
    log.info("Suppression: %d bad number(s) (VBot 101/106) and %d opt-out(s) (DONTCALL) added",
             added["bad_number"], added["opt_out"])
    return added
