"""Deliveries arriving while an INSERT is in flight land together in one statement (PostgreSQL, real threads).

Each test holds ``webhook_event`` locked from another session so that the first delivery's INSERT
waits at the database, lets the others queue behind it, then releases the table: the queued
deliveries go as one statement. What each thread answers and what the table holds are checked.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa

from tests.integration.receiver_support import autocall_body
from tests.stack import wait_for
from vbotflow.receiver import store
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.hotconn import hot_connections
from vbotflow.receiver.parse import Parsed, parse_delivery
from vbotflow.receiver.runtime import receiver_engine
from vbotflow.store.tables import webhook_event

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_migrated_url: str) -> Iterator[sa.engine.Engine]:
    engine = receiver_engine(pg_migrated_url, timeout_seconds=30)
    yield engine
    engine.dispose()


def _dsn(engine: sa.engine.Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _item(phone: str) -> tuple[Delivery, Parsed]:
    body = json.dumps(autocall_body(phone=phone)).encode()
    return (Delivery(received_at=datetime.now(UTC), endpoint="autocall", body=body, headers={}, remote_addr=None),
            parse_delivery(body, "autocall"))


def _phones(count: int) -> list[str]:
    return [f"09{uuid.uuid4().int % 10**8:08d}" for _ in range(count)]


def _wait_until(condition: Callable[[], object], what: str) -> None:
    wait_for(condition, 30, what, interval=0.02)


def _inserts_waiting_for_the_lock(admin: psycopg.Connection) -> list[tuple[int, bool]]:
    """(backend pid, of several rows?) of the INSERTs into webhook_event waiting for a lock."""
    found = admin.execute("SELECT pid, query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND query LIKE 'INSERT INTO webhook_event %'").fetchall()
    # The statement's text is cut at track_activity_query_size: the start of a second row shows.
    return [(pid, "), (" in query) for pid, query in found]


@contextmanager
def _table_held(engine: sa.engine.Engine) -> Iterator[psycopg.Connection]:
    """``webhook_event`` locked against inserts until the block ends; yields an autocommit session to look."""
    with psycopg.connect(_dsn(engine)) as holder, psycopg.connect(_dsn(engine), autocommit=True) as admin:
        holder.execute("LOCK TABLE webhook_event IN EXCLUSIVE MODE")
        yield admin
        holder.commit()


def _rows_by_key(engine: sa.engine.Engine, keys: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {key: [] for key in keys}
    with engine.connect() as conn:
        for key, event_id in conn.execute(sa.select(webhook_event.c.dedupe_key, webhook_event.c.event_id)
                                          .where(webhook_event.c.dedupe_key.in_(keys))):
            found[key].append(event_id)
    return found


def _queue_behind_a_blocked_insert(engine: sa.engine.Engine, admin: psycopg.Connection, pool: ThreadPoolExecutor,
                                   first: tuple[Delivery, Parsed],
                                   others: list[tuple[Delivery, Parsed]]) -> tuple[Future, list[Future]]:
    inserts = hot_connections(engine).inserts
    leader = pool.submit(store.land, engine, *first)
    _wait_until(lambda: len(_inserts_waiting_for_the_lock(admin)) == 1, "the first INSERT waits for the lock")
    followers = [pool.submit(store.land, engine, *item) for item in others]
    _wait_until(lambda: inserts.waiting() == len(others), f"{len(others)} deliveries wait behind it")
    return leader, followers


def test_deliveries_arriving_meanwhile_land_in_one_statement_each_with_its_own_answer(
        engine: sa.engine.Engine) -> None:
    stored_before, first_phone, *phones = _phones(8)
    earlier = store.land(engine, *_item(stored_before))
    first = _item(first_phone)
    # Six new deliveries, a repeat of one stored before, and a second copy of the first new one.
    others = [_item(p) for p in phones] + [_item(stored_before), _item(phones[0])]

    with ThreadPoolExecutor(max_workers=len(others) + 1) as pool:
        with _table_held(engine) as admin:
            leader, followers = _queue_behind_a_blocked_insert(engine, admin, pool, first, others)
        led = leader.result(timeout=30)
        results = [f.result(timeout=30) for f in followers]

    assert hot_connections(engine).inserts.largest == len(others)  # all eight in one statement
    assert (led.duplicate, earlier.duplicate) == (False, False)
    new, repeat, copy = results[:6], results[6], results[7]
    assert [r.duplicate for r in new[1:]] == [False] * 5
    assert (repeat.duplicate, repeat.event_id) == (True, earlier.event_id)
    # The two copies of the same delivery: one stored, the other its duplicate (same row).
    assert {new[0].duplicate, copy.duplicate} == {False, True} and new[0].event_id == copy.event_id
    assert not any(r.dead_letter for r in [led, *results])
    keys = [item[1].dedupe_key for item in [first, *others]]
    rows = _rows_by_key(engine, keys)
    assert all(len(ids) == 1 for ids in rows.values()), rows
    assert [rows[item[1].dedupe_key][0] for item in others] == [r.event_id for r in results]
    assert rows[first[1].dedupe_key] == [led.event_id]
    assert len({r.event_id for r in new} | {led.event_id, earlier.event_id}) == 8


def test_a_row_the_database_refuses_fails_its_statement_and_lands_alone_as_a_dead_letter(
        engine: sa.engine.Engine) -> None:
    first_phone, *phones = _phones(4)
    delivery, _ = _item(_phones(1)[0])
    # A parse result the table's CHECK refuses: in a statement of several it fails them all.
    refused = (delivery, Parsed(kind="bogus", dedupe_key=f"bogus:{uuid.uuid4().hex}", columns={"status_code": 200}))
    others = [_item(phones[0]), refused, _item(phones[1]), _item(phones[2])]

    with ThreadPoolExecutor(max_workers=len(others) + 1) as pool:
        with _table_held(engine) as admin:
            leader, followers = _queue_behind_a_blocked_insert(engine, admin, pool, _item(first_phone), others)
        assert not leader.result(timeout=30).duplicate
        results = [f.result(timeout=30) for f in followers]

    assert hot_connections(engine).inserts.largest == len(others)
    assert [(r.duplicate, r.dead_letter) for r in results] == [(False, False), (False, True), (False, False),
                                                               (False, False)]
    with engine.connect() as conn:
        dead = conn.execute(sa.select(webhook_event).where(webhook_event.c.event_id == results[1].event_id)).one()
    assert (dead.kind, dead.parse_error) == ("invalid", "the database refused the parsed bogus columns "
                                                        "(IntegrityError)")
    assert bytes(dead.body) == delivery.body
    rows = _rows_by_key(engine, [item[1].dedupe_key for item in others if item is not refused])
    assert [ids for ids in rows.values()] == [[r.event_id] for r in results if not r.dead_letter]


@contextmanager
def _key_held(engine: sa.engine.Engine, key: str) -> Iterator[psycopg.Connection]:
    """A row of ``key`` inserted and not committed: an INSERT of the same key waits until the block ends
    (rolled back, so the waiting INSERT stores its own row)."""
    with psycopg.connect(_dsn(engine)) as holder:
        holder.execute("INSERT INTO webhook_event (received_at, stored_at, landed_via, endpoint, kind, dedupe_key, "
                       "body, body_sha256, headers_json) VALUES (now(), now(), 'http', 'autocall', 'invalid', %s, "
                       "'', '', '{}')", (key,))
        yield holder
        holder.rollback()


def test_a_statement_whose_connection_is_killed_is_retried_and_every_delivery_lands_once(
        engine: sa.engine.Engine) -> None:
    first_phone, *phones = _phones(7)
    first, others = _item(first_phone), [_item(p) for p in phones]
    inserts = hot_connections(engine).inserts

    with ThreadPoolExecutor(max_workers=len(others) + 1) as pool, \
            psycopg.connect(_dsn(engine), autocommit=True) as admin:
        # The first delivery waits for a row of its own key; one of those behind it waits likewise.
        with _key_held(engine, others[2][1].dedupe_key):
            with _key_held(engine, first[1].dedupe_key):
                leader = pool.submit(store.land, engine, *first)
                _wait_until(lambda: len(_inserts_waiting_for_the_lock(admin)) == 1, "the first INSERT waits")
                followers = [pool.submit(store.land, engine, *item) for item in others]
                _wait_until(lambda: inserts.waiting() == len(others), "six deliveries wait behind it")
            _wait_until(lambda: [several for _, several in _inserts_waiting_for_the_lock(admin)] == [True],
                        "the statement of the six waits")
            assert inserts.largest == len(others)
            # The server drops that statement's connection: each of the six tries once more, and waits again.
            [(pid, _)] = _inserts_waiting_for_the_lock(admin)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            _wait_until(lambda: _inserts_waiting_for_the_lock(admin) and pid not in dict(
                _inserts_waiting_for_the_lock(admin)), "the retry waits")
        results = [leader.result(timeout=30)] + [f.result(timeout=30) for f in followers]

    assert [(r.duplicate, r.dead_letter) for r in results] == [(False, False)] * 7
    rows = _rows_by_key(engine, [item[1].dedupe_key for item in [first, *others]])
    assert list(rows.values()) == [[r.event_id] for r in results]


def test_a_statement_timing_out_in_a_stall_sends_those_waiting_behind_it_to_the_spool_without_a_statement(
        pg_migrated_url: str) -> None:
    engine = receiver_engine(pg_migrated_url, timeout_seconds=1)  # statement_timeout 1 s
    try:
        first_phone, *phones = _phones(6)
        first, others = _item(first_phone), [_item(p) for p in phones]
        seen_waiting: list[tuple[int, bool]] = []
        with ThreadPoolExecutor(max_workers=len(others) + 1) as pool:
            with _table_held(engine) as admin:
                leader, followers = _queue_behind_a_blocked_insert(engine, admin, pool, first, others)
                # The table stays locked until every thread is answered: a statement of the five would
                # wait at the lock for its own second and be seen here.
                while not all(f.done() for f in [leader, *followers]):
                    seen_waiting.extend(_inserts_waiting_for_the_lock(admin))
                    time.sleep(0.01)
            errors = [f.exception(timeout=30) for f in [leader, *followers]]

        assert not any(several for _, several in seen_waiting), seen_waiting  # only the first, alone
        assert all(isinstance(err, store.OUTAGE_ERRORS) for err in errors), errors  # each one spools
        assert "statement timeout" in str(errors[0]) and all(err is errors[0] for err in errors)
        assert hot_connections(engine).inserts.largest == 1
        # Nothing half-stored: every delivery is in the spool's hands, none in the table.
        assert _rows_by_key(engine, [item[1].dedupe_key for item in [first, *others]]) == {
            item[1].dedupe_key: [] for item in [first, *others]}
        # The stall over, the next delivery lands at once.
        assert not store.land(engine, *_item(_phones(1)[0])).duplicate
    finally:
        engine.dispose()
