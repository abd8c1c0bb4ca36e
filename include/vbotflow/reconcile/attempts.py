"""Landed auto-call webhooks → ``call_attempt``: incremental by watermark, idempotent, one INSERT … SELECT."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
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


ATTEMPT_COLUMNS = ["source", "event_id", "vbot_campaign_id", "phone", "called_at", "status_code", "status_class",
                   "hotline", "duration_seconds", "postage", "service_charge", "action_log", "parsed_at"]


def _attempts_of_events(start: int, upto: int, now: datetime) -> sa.Select:
    """The call attempts the auto-call events ``start`` (exclusive) to ``upto`` report, duplicates and all."""
    e = webhook_event
    return sa.select(
        sa.literal("webhook").label("source"), e.c.event_id, e.c.vbot_campaign_id,
        domestic_phone(e.c.phone).label("phone"), e.c.called_at, e.c.status_code,
        status_class_case(e.c.status_code).label("status_class"), e.c.hotline,
        sa.func.coalesce(e.c.duration_seconds, 0).label("duration_seconds"),
        sa.func.coalesce(e.c.postage, 0).label("postage"),
        sa.func.coalesce(e.c.service_charge, 0).label("service_charge"), e.c.action_log,
        sa.literal(now, sa.DateTime(timezone=True)).label("parsed_at"),
    ).where(e.c.kind == "autocall", e.c.event_id > start, e.c.event_id <= upto)


def _insert_attempts_postgresql(conn: sa.Connection, start: int, upto: int, now: datetime) -> int:
    """The new attempts only, each once: an anti-join and DISTINCT ON instead of ON CONFLICT.

    ON CONFLICT pays a speculative insertion per row; here each identity is looked up once and the
    rows inserted plainly. The lock keeps every other writer of ``call_attempt`` (another parse,
    the history backfill) out until the commit, so nothing can slip in between the look-up and
    the insert; the unique index stays the guarantee either way. Sorting phones byte-wise
    (``COLLATE "C"``: digits sort alike in every collation) lets the sort use abbreviated keys.
    """
    a = call_attempt
    conn.execute(sa.text("LOCK TABLE call_attempt IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))  # a million events sort in memory
    # JIT would compile the phone normalisation's wide CASE (inlined and optimised, the statement
    # costs far above the thresholds): seconds before the first row, more than it saves on a million.
    conn.execute(sa.text("SET LOCAL jit = off"))
    events = _attempts_of_events(start, upto, now).subquery("events")
    phone = events.c.phone.collate("C")
    identity = (events.c.vbot_campaign_id, phone, events.c.called_at, events.c.status_code)
    known = sa.select(a.c.call_attempt_id).where(
        a.c.vbot_campaign_id == events.c.vbot_campaign_id, a.c.phone == events.c.phone,
        a.c.called_at == events.c.called_at, a.c.status_code == events.c.status_code).exists()
    # Of one attempt delivered twice, the first delivery (lowest event id) is kept.
    first = (sa.select(*(events.c[c] for c in ATTEMPT_COLUMNS)).ext(distinct_on(*identity))
             .where(~known).order_by(*identity, events.c.event_id).subquery("first_delivery"))
    # Inserted in the unique index's order (its pages filled one after another); the event id
    # decides between two attempts at the same second: the later delivery is parsed last.
    ordered = sa.select(*(first.c[c] for c in ATTEMPT_COLUMNS)).order_by(
        first.c.vbot_campaign_id, first.c.phone.collate("C"), first.c.called_at, first.c.event_id)
    statement = a.insert().from_select(ATTEMPT_COLUMNS, ordered).execution_options(preserve_rowcount=True)
    return conn.execute(statement).rowcount


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
        if conn.dialect.name == "postgresql":
            added = _insert_attempts_postgresql(conn, start, upto, now)
        else:
            added = insert_from_select_ignoring_duplicates(conn, call_attempt, ATTEMPT_COLUMNS, _attempts_of_events(
                start, upto, now).order_by(
                # In the unique index's order: index pages are then filled one after another. The
                # event id last: of one attempt delivered twice the first delivery is kept, and of
                # two attempts at the same second the later delivery is parsed last (the tie-break).
                "vbot_campaign_id", "phone", "called_at", "event_id"))
        _set_watermark(conn, max(upto, watermark(conn)), now)
    log.info("Parsed webhook events %d to %d: %d new call attempt(s) (duplicates ignored)", start + 1, upto, added)
    return ParseResult(start, int(upto), added)
