"""The spool on a real directory: durable appends, ordered replay, one drainer at a time."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.runtime import ReceiverRuntime
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


class _DiskFillsUp:
    """``os.write`` as a nearly full disk answers it: part of the bytes, then ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real_write = os.write

    def __call__(self, fd: int, data: bytes) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = self.real_write(fd, bytes(data[:self.room]))
        self.room -= written
        return written


def test_a_short_write_on_a_full_disk_raises_and_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    spool.append(_delivery(1))
    monkeypatch.setattr(os, "write", _DiskFillsUp(room=4096))
    with pytest.raises(OSError, match="No space left on device"):
        spool.append(_delivery(2, body=b"x" * 52_000))
    monkeypatch.undo()

    assert sorted(p.name for p in tmp_path.iterdir() if p.name != LOCK_NAME) == [spool.files()[0].name]
    landed: list[Delivery] = []
    result = spool.drain(landed.append)
    assert landed == [_delivery(1)]
    assert (result.landed, result.corrupt, result.left) == (1, 0, 0)


def test_a_write_that_takes_bytes_in_pieces_is_still_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:1000])))
    spool = Spool(tmp_path)
    original = _delivery(1, body=bytes(range(256)) * 100)
    spool.append(original)
    monkeypatch.undo()
    landed: list[Delivery] = []
    spool.drain(landed.append)
    assert landed == [original]


def _leftover(directory: Path, name: str, age_seconds: float) -> Path:
    path = directory / name
    path.write_text('{"version": 1, "received_at": "2026-11-26T02:00:0')
    old = time.time() - age_seconds
    os.utime(path, (old, old))
    return path


def test_temporary_files_a_dead_process_left_are_removed_on_drain_and_on_start(tmp_path: Path) -> None:
    stale = _leftover(tmp_path, ".20261126T000000000000-a.tmp", age_seconds=3600)
    fresh = _leftover(tmp_path, ".20261126T000000000001-b.tmp", age_seconds=0)  # an append under way
    locked = _leftover(tmp_path, ".20261126T000000000002-c.tmp", age_seconds=3600)
    fd = os.open(locked, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # its writer is alive and still writing
        Spool(tmp_path).drain(lambda d: pytest.fail("nothing complete to land"))
        assert (stale.exists(), fresh.exists(), locked.exists()) == (False, True, True)
    finally:
        os.close(fd)

    again = _leftover(tmp_path, ".20261126T000000000003-d.tmp", age_seconds=3600)
    ReceiverRuntime({"DB_URL": "sqlite://", "DB_TIMEOUT_SECONDS": 1, "WEBHOOK_TOKENS": ("t",),
                     "SPOOL_DIR": str(tmp_path), "SPOOL_RETRY_SECONDS": 0, "SIGNATURE_TOLERANCE_SECONDS": 300})
    assert not again.exists() and not locked.exists() and fresh.exists()


def test_an_outage_midway_counts_every_delivery_left_including_earlier_failures(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(1, 7):
        spool.append(_delivery(n))

    def land(delivery: Delivery) -> None:
        n = int(delivery.body[6:-1])
        if n in (2, 3):
            raise ValueError("this one cannot be stored")
        if n == 5:
            raise ConnectionError("the database went away")

    result = spool.drain(land, outage_errors=(ConnectionError,))
    # 1 and 4 landed; 2 and 3 failed on their own; the outage at 5 leaves 5 and 6.
    assert (result.landed, result.failed, result.left) == (2, 2, 4)
    assert result.left == spool.depth()
    assert result.error == "ConnectionError: the database went away"
