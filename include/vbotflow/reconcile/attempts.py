"""Landed auto-call webhooks → ``call_attempt``: incremental by watermark, idempotent, one INSERT … SELECT."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.reconcile.sql import domestic_phone, status_class_case
from vbotflow.store.tables import call_attempt, reconcile_state, webhook_event
from vbotflow.store.upsert import insert_from_select_ignoring_duplicates

log = logging.getLogger(__name__)

WATERMARK = "webhook_event.autocall"
# Events younger than this are left for the next run: an insert with a smaller event_id may still
# be committing (PostgreSQL hands out ids before commit), and the watermark must not pass it.
DEFAULT_SETTLE_SECONDS = 30


@dataclass(frozen=True)
class ParseResult:
    from_event_id: int
    to_event_id: int
    attempts_added: int


def watermark(conn: sa.Connection) -> int:
    value = conn.execute(sa.select(reconcile_state.c.value).where(reconcile_state.c.name == WATERMARK)).scalar()
    return int(value or 0)


def _set_watermark(conn: sa.Connection, value: int, now: datetime) -> None:
    updated = conn.execute(reconcile_state.update().where(reconcile_state.c.name == WATERMARK)
                           .values(value=value, updated_at=now)).rowcount
    if not updated:
        conn.execute(reconcile_state.insert().values(name=WATERMARK, value=value, updated_at=now))


def parse_new_events(engine: Engine, *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                     now: datetime | None = None, full: bool = False) -> ParseResult:
    """Turn auto-call events past the watermark into call attempts (duplicates ignored).

    ``full`` re-reads every event: safe, since attempts are unique on their identity.
    """
    now = now or datetime.now(UTC)
    e = webhook_event
    with engine.begin() as conn:
        start = 0 if full else watermark(conn)
        upto = conn.execute(sa.select(sa.func.max(e.c.event_id)).where(
            e.c.stored_at <= now - timedelta(seconds=settle_seconds))).scalar()
        if upto is None or upto <= start:
            log.info("No new webhook events to parse (watermark at event %d)", start)
            return ParseResult(start, start, 0)
        phone = domestic_phone(e.c.phone)
        select = sa.select(
            sa.literal("webhook"), e.c.event_id, e.c.vbot_campaign_id, phone, e.c.called_at, e.c.status_code,
            status_class_case(e.c.status_code), e.c.hotline, sa.func.coalesce(e.c.duration_seconds, 0),
            sa.func.coalesce(e.c.postage, 0), sa.func.coalesce(e.c.service_charge, 0), e.c.action_log,
            sa.literal(now, sa.DateTime(timezone=True)),
        ).where(e.c.kind == "autocall", e.c.event_id > start, e.c.event_id <= upto).order_by(
            # In the unique index's order: index pages are then filled one after another.
            e.c.vbot_campaign_id, phone, e.c.called_at)
        added = insert_from_select_ignoring_duplicates(conn, call_attempt, [
            "source", "event_id", "vbot_campaign_id", "phone", "called_at", "status_code", "status_class",
            "hotline", "duration_seconds", "postage", "service_charge", "action_log", "parsed_at"], select)
        _set_watermark(conn, max(upto, watermark(conn)), now)
    log.info("Parsed webhook events %d to %d: %d new call attempt(s) (duplicates ignored)", start + 1, upto, added)
    return ParseResult(start, int(upto), added)
