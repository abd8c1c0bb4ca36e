"""Landing deliveries in ``webhook_event`` (and ``webhook_call_record``): one row per dedupe key."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from vbotflow.receiver.batching import LandAlone
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.hotconn import OUTAGE_ERRORS, hot_connections
from vbotflow.receiver.parse import Parsed, parse_delivery
from vbotflow.store.tables import webhook_call_record, webhook_event

T = TypeVar("T")


@dataclass(frozen=True)
class LandResult:
    """``duplicate``: the dedupe key was already stored (``event_id`` is the earlier row); ``dead_letter``:
    the database refused the parsed columns, so the raw body landed as kind 'invalid'."""

    event_id: int
    duplicate: bool
    records_new: int = 0
    dead_letter: bool = False


_INSERTS: dict[tuple[str, str], sa.Insert] = {}


def _insert_ignoring_conflicts(dialect: str, table: sa.Table) -> sa.Insert:
    """INSERT .. ON CONFLICT (dedupe_key) DO NOTHING: concurrent copies of one delivery never raise, one wins.

    Built once per dialect and table: constructing statements per request was a third of the CPU.
    """
    key = (dialect, table.name)
    if key not in _INSERTS:
        if dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        elif dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        else:
            raise NotImplementedError(f"the receiver supports PostgreSQL and SQLite, not {dialect}")
        _INSERTS[key] = stmt.returning(table.primary_key.columns.values()[0])
    return _INSERTS[key]


# Every column the INSERT names (the prepared psycopg statement names them all): typed columns a
# parse result does not fill stay NULL, including ones later migrations add.
_EVENT_COLUMNS = tuple(c.name for c in webhook_event.columns if c.name != "event_id")


def _event_row(delivery: Delivery, parsed: Parsed, via: str) -> dict[str, object]:
    return {
        **dict.fromkeys(_EVENT_COLUMNS),
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


def _earlier_event(conn: Connection, dedupe_key: str) -> int:
    return conn.execute(
        sa.select(webhook_event.c.event_id).where(webhook_event.c.dedupe_key == dedupe_key)
    ).scalar_one()


@functools.cache
def _pg_insert_sql() -> str:
    """The INSERT .. ON CONFLICT DO NOTHING RETURNING of ``webhook_event``, as psycopg SQL text."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

    return str(_insert_ignoring_conflicts("postgresql", webhook_event).compile(dialect=pg_psycopg.dialect(),
                                                                              column_keys=list(_EVENT_COLUMNS)))


_EARLIER_EVENTS_SQL = "SELECT dedupe_key, event_id FROM webhook_event WHERE dedupe_key = ANY(%s)"


@functools.cache
def _pg_insert_rows_sql(rows: int) -> str:
    """``_pg_insert_sql`` for ``rows`` rows, parameters by position (every column of each row in turn),
    returning each inserted row's key beside its id."""
    head, _, rest = _pg_insert_sql().partition(" VALUES ")
    one_row, _, _ = rest.partition(" ON CONFLICT ")
    if re.findall(r"%\((\w+)\)s", one_row) != list(_EVENT_COLUMNS):
        raise RuntimeError("the INSERT's parameters are not in _EVENT_COLUMNS order: rows go by position")
    one_row = re.sub(r"%\((\w+)\)s", "%s", one_row)
    return (f"{head} VALUES {', '.join([one_row] * rows)} ON CONFLICT (dedupe_key) DO NOTHING "
            "RETURNING webhook_event.event_id, webhook_event.dedupe_key")


def _insert_events_psycopg(engine: Engine, rows: Sequence[dict[str, object]]) -> list[tuple[int, bool]]:
    """The hot path on PostgreSQL: ``(event_id, duplicate)`` for each row in order, from one server-side
    prepared INSERT of them all on an autocommit connection, straight through psycopg (``hotconn``).
    A repeat of a row stored earlier, or of one earlier in the same statement, is a duplicate of that
    row (looked up on the same connection).

    SQLAlchemy's execution layer cost twice the CPU of the statement itself, its pool checkout and
    return as much again. Errors come back as SQLAlchemy errors, like the rest.
    """
    with hot_connections(engine).connection() as conn:
        statement = _pg_insert_rows_sql(len(rows))
        try:
            inserted = conn.execute(statement, [row[c] for row in rows for c in _EVENT_COLUMNS],
                                    prepare=True).fetchall()
            ids = {key: event_id for event_id, key in inserted}
            missing = [row["dedupe_key"] for row in rows if row["dedupe_key"] not in ids]
            if missing:
                statement = _EARLIER_EVENTS_SQL
                ids.update(conn.execute(statement, (missing,)).fetchall())
        except psycopg.Error as err:
            raise sa.exc.DBAPIError.instance(statement, None, err, psycopg.Error,
                                             connection_invalidated=bool(conn.broken or conn.closed)) from err
    new = {key for _, key in inserted}
    results = []
    for row in rows:
        key = row["dedupe_key"]
        results.append((ids[key], key not in new))
        new.discard(key)  # a second copy in the same statement is a duplicate of the first
    return results


def _insert_together(engine: Engine, rows: Sequence[dict[str, object]]) -> list[tuple[int, bool]]:
    """``_insert_events_psycopg`` for the batcher: an outage reaches every row's thread; any other failure
    may be one row's fault, so each row then lands alone (``LandAlone``)."""
    try:
        return _insert_events_psycopg(engine, rows)
    except OUTAGE_ERRORS:
        raise
    except Exception as err:
        raise LandAlone from err


def _land_once(engine: Engine, delivery: Delivery, parsed: Parsed, via: str) -> LandResult:
    row = _event_row(delivery, parsed, via)
    if not parsed.records and engine.dialect.driver == "psycopg":
        event_id, duplicate = hot_connections(engine).inserts.submit(
            row, lambda rows: _insert_together(engine, rows), lambda one: _insert_events_psycopg(engine, [one])[0])
        return LandResult(event_id=event_id, duplicate=duplicate)
    if not parsed.records:
        # One statement, committed by itself (autocommit): one round trip instead of BEGIN, INSERT, COMMIT.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            inserted = conn.execute(_insert_ignoring_conflicts(conn.dialect.name, webhook_event), row).scalar()
            if inserted is None:
                return LandResult(event_id=_earlier_event(conn, parsed.dedupe_key), duplicate=True)
            return LandResult(event_id=inserted, duplicate=False)

    # A call-history delivery: the event and its records in one transaction.
    with engine.begin() as conn:
        inserted = conn.execute(_insert_ignoring_conflicts(conn.dialect.name, webhook_event), row).scalar()
        if inserted is None:
            return LandResult(event_id=_earlier_event(conn, parsed.dedupe_key), duplicate=True)
        rows = [{**record, "event_id": inserted} for record in parsed.records]
        new_ids = conn.execute(_insert_ignoring_conflicts(conn.dialect.name, webhook_call_record), rows).all()
    return LandResult(event_id=inserted, duplicate=False, records_new=len(new_ids))


def _once_more_after_a_dropped_connection(attempt: Callable[[], T]) -> T:
    try:
        return attempt()
    except sa.exc.DBAPIError as err:
        # A pooled connection the server dropped (restart, idle timeout): the pool is now refreshed,
        # so one more try. The receiver's engine skips pre-ping (a round trip per request) for this.
        if not err.connection_invalidated:
            raise
        return attempt()


def land(engine: Engine, delivery: Delivery, parsed: Parsed, *, via: str = "http") -> LandResult:
    """Store ``delivery`` once; raises ``sqlalchemy.exc.SQLAlchemyError`` when the database is away.

    The raw delivery is stored even when the database refuses the typed columns parsed from it, for
    whatever reason — a value out of range, a constraint the parser did not foresee, text the
    driver cannot encode (``UnicodeEncodeError`` is no database error): it then lands as a dead
    letter. Only an outage (``OUTAGE_ERRORS``) is raised, so the caller spools and replays later.
    """
    try:
        return _once_more_after_a_dropped_connection(lambda: _land_once(engine, delivery, parsed, via))
    except OUTAGE_ERRORS:
        raise
    except Exception as err:  # noqa: BLE001 - any refusal of the parsed columns: keep the raw body instead
        if parsed.kind == "invalid":
            raise
        dead_letter = Parsed(kind="invalid", dedupe_key="invalid:" + hashlib.sha256(delivery.body).hexdigest(),
                             parse_error=f"the database refused the parsed {parsed.kind} columns "
                                         f"({type(err).__name__})")
        landed = _once_more_after_a_dropped_connection(lambda: _land_once(engine, delivery, dead_letter, via))
        return LandResult(event_id=landed.event_id, duplicate=landed.duplicate, dead_letter=True)


def land_spooled(engine: Engine, delivery: Delivery) -> LandResult:
    """Replay one spooled delivery: parsed again by the same code, so it gets the same dedupe key."""
    return land(engine, delivery, parse_delivery(delivery.body, delivery.endpoint), via="spool")


def ping(engine: Engine) -> None:
    """Raise when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
