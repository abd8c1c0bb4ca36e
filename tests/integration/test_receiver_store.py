"""Landing in the database directly: once per dedupe key, under concurrency, across a dropped connection."""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.receiver_support import autocall_body
from vbotflow.receiver import store
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.parse import Parsed, parse_delivery
from vbotflow.receiver.runtime import ReceiverRuntime, receiver_engine
from vbotflow.store import db
from vbotflow.store.tables import webhook_event


def _item(phone: str, endpoint: str = "autocall") -> tuple[Delivery, object]:
    body = json.dumps(autocall_body(phone=phone)).encode()
    delivery = Delivery(received_at=datetime.now(UTC), endpoint=endpoint, body=body, headers={}, remote_addr=None)
    return delivery, parse_delivery(body, endpoint)


def _count(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(webhook_event)).scalar_one()


def test_a_delivery_lands_once_and_a_repeat_finds_the_first_row(engine: sa.engine.Engine) -> None:
    first = store.land(engine, *_item("0900000001"))
    again = store.land(engine, *_item("0900000001"))
    other = store.land(engine, *_item("0900000002"))

    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert again.event_id == first.event_id != other.event_id
    assert _count(engine) == 2


def test_concurrent_copies_of_one_delivery_land_exactly_once(engine: sa.engine.Engine) -> None:
    items = [_item(f"09100000{n % 40:02d}") for n in range(120)]  # 40 keys, each three times
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda item: store.land(engine, *item), items))

    assert sum(not r.duplicate for r in results) == 40
    assert len({r.event_id for r in results}) == 40
    assert _count(engine) == 40


@pytest.mark.postgres
def test_a_dropped_pooled_connection_is_replaced_without_losing_the_delivery(pg_migrated_url: str) -> None:
    engine = receiver_engine(pg_migrated_url, timeout_seconds=5)  # no pre-ping: store.land must notice itself
    phones = [f"09{uuid.uuid4().int % 10**8:08d}" for _ in range(2)]
    try:
        store.land(engine, *_item(phones[0]))
        killer = db.make_engine(pg_migrated_url)
        with killer.connect() as conn:  # the server ends the receiver's pooled session, as a restart would
            ended = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        killer.dispose()
        result = store.land(engine, *_item(phones[1]))
        with engine.connect() as conn:
            stored = conn.execute(sa.select(webhook_event.c.phone).where(webhook_event.c.phone.in_(phones))).scalars()
            stored = sorted(stored)
    finally:
        engine.dispose()
    assert ended >= 1 and not result.duplicate
    assert stored == sorted(phones)


def test_a_dead_letter_lands_like_any_delivery(engine: sa.engine.Engine) -> None:
    body = b"{not json"
    delivery = Delivery(received_at=datetime.now(UTC), endpoint="auto", body=body, headers={}, remote_addr=None)
    result = store.land(engine, delivery, parse_delivery(body, "auto"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(webhook_event).where(webhook_event.c.event_id == result.event_id)).mappings().one()
    assert (row["kind"], row["body"]) == ("invalid", body)


def test_database_errors_do_not_carry_the_statement_parameters(db_url: str) -> None:
    # PostgreSQL's own DETAIL may still quote the row: logmask.log_failure masks phones in what is logged.
    engine = receiver_engine(db_url, timeout_seconds=5)
    delivery, parsed = _item("0987654321")
    try:
        with engine.begin() as conn:
            conn.execute(webhook_event.insert(), {**store._event_row(delivery, parsed, "http"), "kind": "bogus"})
    except sa.exc.IntegrityError as err:  # the kind CHECK constraint
        message = str(err)
    finally:
        engine.dispose()
    assert "[SQL parameters hidden due to hide_parameters=True]" in message


def test_typed_columns_the_database_refuses_still_leave_the_raw_delivery_stored(engine: sa.engine.Engine) -> None:
    delivery, _ = _item("0900000009")
    # A parse result the table's constraints refuse (kind CHECK): the raw body must land all the same.
    refused = Parsed(kind="bogus", dedupe_key="bogus:1", columns={"status_code": 200})
    result = store.land(engine, delivery, refused)
    with engine.connect() as conn:
        row = conn.execute(sa.select(webhook_event).where(webhook_event.c.event_id == result.event_id)).mappings().one()
    assert (row["kind"], row["body"], row["status_code"]) == ("invalid", delivery.body, None)
    assert row["parse_error"] == "the database refused the parsed bogus columns (IntegrityError)"


def test_text_the_driver_cannot_encode_still_leaves_the_raw_delivery_stored(engine: sa.engine.Engine) -> None:
    delivery, parsed = _item("0900000010")
    # Columns no parser of ours produces today: a lone surrogate, which neither psycopg nor sqlite3 can
    # encode (UnicodeEncodeError, which is no database error). Whatever the reason, the raw body lands.
    refused = Parsed(kind="autocall", dedupe_key=parsed.dedupe_key,
                     columns={**parsed.columns, "action_log": "1;\ud800;2"})
    result = store.land(engine, delivery, refused)
    again = store.land(engine, delivery, refused)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(webhook_event)).mappings().all()
    assert [(r["kind"], r["body"], r["action_log"]) for r in rows] == [("invalid", delivery.body, None)]
    assert rows[0]["parse_error"] == "the database refused the parsed autocall columns (UnicodeEncodeError)"
    assert (result.dead_letter, result.duplicate, again.duplicate, again.event_id) == (
        True, False, True, result.event_id)


def test_a_spooled_delivery_the_database_refuses_is_replayed_once_as_a_dead_letter(
        db_url: str, tmp_path: Path) -> None:
    body = json.dumps(autocall_body(phone="0900000011", action_log="1;\ud800;2")).encode()
    delivery = Delivery(received_at=datetime.now(UTC), endpoint="autocall", body=body, headers={}, remote_addr=None)
    runtime = ReceiverRuntime({"DB_URL": db_url, "DB_TIMEOUT_SECONDS": 5, "WEBHOOK_TOKENS": ("t",),
                               "SPOOL_DIR": str(tmp_path / "spool"), "SPOOL_RETRY_SECONDS": 0,
                               "SIGNATURE_TOLERANCE_SECONDS": 300})
    runtime.spool.append(delivery)  # as it was spooled during an outage
    try:
        result = runtime.drain_spool()
        again = runtime.drain_spool()
        with runtime.engine.connect() as conn:
            rows = conn.execute(sa.select(webhook_event)).mappings().all()
    finally:
        runtime.engine.dispose()
    assert (result.landed, result.failed, result.left, again.landed) == (1, 0, 0, 0)
    assert runtime.spool.depth() == 0
    assert [(r["kind"], r["body"], r["landed_via"]) for r in rows] == [("invalid", body, "spool")]


def test_a_delivery_that_fails_on_its_own_is_retried_on_schedule_not_on_every_wake(
        db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A spool file the database refuses even as a dead letter (a header no driver can encode): it
    # fails on its own, stays, and must not be retried each time a new delivery wakes the drainer.
    body = json.dumps(autocall_body(phone="0900000012")).encode()
    delivery = Delivery(received_at=datetime.now(UTC), endpoint="autocall", body=body,
                        headers={"x-note": "\ud800"}, remote_addr=None)
    runtime = ReceiverRuntime({"DB_URL": db_url, "DB_TIMEOUT_SECONDS": 5, "WEBHOOK_TOKENS": ("t",),
                               "SPOOL_DIR": str(tmp_path / "spool"), "SPOOL_RETRY_SECONDS": 60,
                               "SIGNATURE_TOLERANCE_SECONDS": 300})
    runtime.spool.append(delivery)

    def attempts() -> int:
        return sum("cannot be landed" in r.getMessage() for r in caplog.records)

    try:
        with caplog.at_level(logging.ERROR, logger="vbotflow.receiver.spool"):
            runtime.ensure_drainer()
            runtime.wake_drainer()
            deadline = time.monotonic() + 30  # waiting for the thread, not a timing assertion
            while attempts() == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            for _ in range(20):  # twenty deliveries landing while the file waits
                runtime.wake_drainer()
                time.sleep(0.05)
    finally:
        runtime.engine.dispose()
    assert attempts() == 1
    assert runtime.spool.depth() == 1  # kept for a person, not lost


@pytest.mark.postgres
def test_the_hot_path_keeps_its_connections_in_autocommit_and_dispose_closes_them(pg_migrated_url: str) -> None:
    marker = f"hot-{uuid.uuid4().hex[:8]}"  # names this engine's sessions in pg_stat_activity
    engine = receiver_engine(sa.engine.make_url(pg_migrated_url).update_query_dict({"application_name": marker})
                             .render_as_string(hide_password=False), timeout_seconds=5)
    watcher = db.make_engine(pg_migrated_url)

    def sessions() -> list[str]:
        with watcher.connect() as conn:
            return list(conn.execute(sa.text("SELECT state FROM pg_stat_activity WHERE application_name = :m"),
                                     {"m": marker}).scalars())

    try:
        results = [store.land(engine, *_item(f"09{uuid.uuid4().int % 10**8:08d}")) for _ in range(5)]
        kept = sessions()  # one at a time: one connection, kept, with no transaction left open
        engine.dispose()
        after_dispose = sessions()
    finally:
        engine.dispose()
        watcher.dispose()
    assert [r.duplicate for r in results] == [False] * 5
    assert kept == ["idle"]
    assert after_dispose == []
