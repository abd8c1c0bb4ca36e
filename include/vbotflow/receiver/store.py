"""Landing deliveries in ``webhook_event`` (and ``webhook_call_record``): one row per dedupe key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.parse import Parsed, parse_delivery
from vbotflow.store.tables import webhook_call_record, webhook_event


@dataclass(frozen=True)
class LandResult:
    """``duplicate``: the dedupe key was already stored (``event_id`` is the earlier row)."""

    event_id: int
    duplicate: bool
    records_new: int = 0


def _insert_ignoring_conflicts(conn: Connection, table: sa.Table) -> sa.Insert:
    # ON CONFLICT DO NOTHING: concurrent deliveries of the same key never raise, one of them wins.
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    raise NotImplementedError(f"the receiver supports PostgreSQL and SQLite, not {dialect}")


def land(engine: Engine, delivery: Delivery, parsed: Parsed, *, via: str = "http") -> LandResult:
    """Store ``delivery`` once; raises ``sqlalchemy.exc.SQLAlchemyError`` when the database is away."""
    row = {
        "received_at": delivery.received_at,
        "stored_at": datetime.now(UTC),
        "landed_via": via,
        "endpoint": delivery.endpoint,
        "kind": parsed.kind,
        "dedupe_key": parsed.dedupe_key,
        "body": delivery.body,
        "body_sha256": hashlib.sha256(delivery.body).hexdigest(),
        "headers_json": json.dumps(delivery.headers, ensure_ascii=False, sort_keys=True),
        "remote_addr": (delivery.remote_addr or "")[:64] or None,
        "parse_error": parsed.parse_error,
        **parsed.columns,
    }
    with engine.begin() as conn:
        inserted = conn.execute(
            _insert_ignoring_conflicts(conn, webhook_event).values(row).returning(webhook_event.c.event_id)
        ).scalar()
        if inserted is None:
            earlier = conn.execute(
                sa.select(webhook_event.c.event_id).where(webhook_event.c.dedupe_key == parsed.dedupe_key)
            ).scalar_one()
            return LandResult(event_id=earlier, duplicate=True)
        records_new = 0
        if parsed.records:
            rows = [{**record, "event_id": inserted} for record in parsed.records]
            new_ids = conn.execute(
                _insert_ignoring_conflicts(conn, webhook_call_record).returning(webhook_call_record.c.call_record_id),
                rows,
            ).all()
            records_new = len(new_ids)
    return LandResult(event_id=inserted, duplicate=False, records_new=records_new)


def land_spooled(engine: Engine, delivery: Delivery) -> LandResult:
    """Replay one spooled delivery: parsed again by the same code, so it gets the same dedupe key."""
    return land(engine, delivery, parse_delivery(delivery.body, delivery.endpoint), via="spool")


# The database is away (or locked): stop replaying, everything after would fail the same way.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError,
                                                  sa.exc.DisconnectionError, sa.exc.TimeoutError)


def ping(engine: Engine) -> None:
    """Raise when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
