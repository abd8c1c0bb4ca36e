"""The spool on a real directory: durable appends, ordered replay, one drainer at a time."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.spool import LOCK_NAME, Spool

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _delivery(n: int, body: bytes | None = None) -> Delivery:
    return Delivery(received_at=T0 + timedelta(seconds=n), endpoint="autocall",
                    body=body if body is not None else f'{{"n": {n}}}'.encode(),
                    headers={"content-type": "application/json"}, remote_addr="127.0.0.1")


def test_a_delivery_round_trips_byte_for_byte_even_when_not_utf8(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    original = _delivery(1, body=b"\xff\x00 not utf-8")
    spool.append(original)
    landed: list[Delivery] = []
    result = spool.drain(landed.append)
    assert landed == [original]
    assert (result.landed, result.left, spool.depth()) == (1, 0, 0)


def test_replay_is_in_arrival_order_and_deletes_only_what_landed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in (3, 1, 2):
        spool.append(_delivery(n))
    assert spool.depth() == 3 and spool.has_files()
    seen: list[int] = []

    def land(delivery: Delivery) -> None:
        n = int(delivery.body[6:-1])
        if n == 2:
            raise ConnectionError("database still away")
        seen.append(n)

    result = spool.drain(land)
    assert seen == [1]
    assert (result.landed, result.left, result.error) == (1, 2, "ConnectionError: database still away")
    assert spool.depth() == 2

    result = spool.drain(lambda d: seen.append(int(d.body[6:-1])))
    assert seen == [1, 2, 3] and result.landed == 2 and spool.depth() == 0


def test_a_second_drainer_backs_off_while_one_holds_the_lock(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(_delivery(1))
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = spool.drain(lambda d: pytest.fail("must not land while another drainer holds the lock"))
    finally:
        os.close(fd)
    assert result.busy and result.left == 1 and spool.depth() == 1


def test_an_unreadable_file_is_set_aside_not_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    (tmp_path / "20261126T000000000000-x.json").write_text("{half a deliv")
    spool.append(_delivery(1))
    landed: list[Delivery] = []
    result = spool.drain(landed.append)
    assert (result.landed, result.corrupt, len(landed)) == (1, 1, 1)
    assert (tmp_path / "20261126T000000000000-x.json.corrupt").exists()


def test_temporary_files_of_unfinished_appends_are_not_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    (tmp_path / ".20261126T000000000000-y.tmp").write_text("{")
    assert spool.depth() == 0 and not spool.has_files()


def test_an_empty_or_missing_spool_drains_nothing(tmp_path: Path) -> None:
    result = Spool(tmp_path / "nothing-yet").drain(lambda d: pytest.fail("nothing to land"))
    assert (result.landed, result.left, result.busy) == (0, 0, False)


def test_a_delivery_that_fails_on_its_own_is_kept_and_the_drain_goes_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in (1, 2, 3):
        spool.append(_delivery(n))
    landed: list[int] = []

    def land(delivery: Delivery) -> None:
        if delivery.body == b'{"n": 2}':
            raise ValueError("this one cannot be stored")
        landed.append(int(delivery.body[6:-1]))

    result = spool.drain(land, outage_errors=(ConnectionError,))
    assert landed == [1, 3]
    assert (result.landed, result.failed, result.left, result.error) == (2, 1, 1, None)
    assert spool.depth() == 1
