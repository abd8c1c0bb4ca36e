"""Landing in the database directly: single rows, group commits, duplicates inside one batch."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa
from vbotflow.receiver import store
from vbotflow.receiver.batch import BatchWriter
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.parse import parse_delivery
from vbotflow.store.tables import webhook_event

from tests.integration.receiver_support import autocall_body


def _item(phone: str, endpoint: str = "autocall") -> tuple[Delivery, object]:
    body = json.dumps(autocall_body(phone=phone)).encode()
    delivery = Delivery(received_at=datetime.now(UTC), endpoint=endpoint, body=body, headers={}, remote_addr=None)
    return delivery, parse_delivery(body, endpoint)


def _count(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(webhook_event)).scalar_one()


def test_a_batch_stores_each_key_once_and_reports_duplicates_in_order(engine: sa.engine.Engine) -> None:
    earlier = store.land(engine, *_item("0900000003"))
    a, b, c = _item("0900000001"), _item("0900000002"), _item("0900000003")
    results = store.land_many(engine, [a, b, a, c])

    assert [r.duplicate for r in results] == [False, False, True, True]
    assert results[2].event_id == results[0].event_id
    assert results[3].event_id == earlier.event_id
    assert _count(engine) == 3


def test_the_batch_writer_lands_concurrent_deliveries_exactly_once(engine: sa.engine.Engine) -> None:
    writer = BatchWriter(lambda: engine)
    items = [_item(f"09100000{n % 40:02d}") for n in range(120)]  # 40 keys, each three times
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda item: writer.land(*item), items))

    assert sum(not r.duplicate for r in results) == 40
    assert len({r.event_id for r in results}) == 40
    assert _count(engine) == 40


def test_a_dead_letter_lands_through_the_batch_writer_too(engine: sa.engine.Engine) -> None:
    body = b"{not json"
    delivery = Delivery(received_at=datetime.now(UTC), endpoint="auto", body=body, headers={}, remote_addr=None)
    result = BatchWriter(lambda: engine).land(delivery, parse_delivery(body, "auto"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(webhook_event).where(webhook_event.c.event_id == result.event_id)).mappings().one()
    assert (row["kind"], row["body"]) == ("invalid", body)
