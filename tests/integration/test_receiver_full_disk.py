"""The spool on a disk that fills up while the database is away: a 202 means the whole delivery is kept.

The spool lives on a 64 KiB tmpfs the test mounts (root only; without the right to mount, the test
skips and says so — the injected short writes of ``tests/unit/test_spool.py`` still run). The
database is made unreachable, deliveries are posted until the disk is full, the disk is grown and
the database comes back: every delivery answered 202 must land byte for byte, every one answered
503 must be absent, and nothing half-written may be left in the spool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.receiver_support import (
    OLD_TOKEN,
    TOKEN,
    Outage,
    autocall_body,
    call_record,
    events,
    post,
    werkzeug_server,
)

SMALL = "64k"
VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))


@pytest.fixture
def outage(db_url: str) -> Iterator[Outage]:
    outage = Outage(db_url)
    yield outage
    outage.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 64 KiB mounted for this test, unmounted after."""
    mount_point = tmp_path / "spool"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL},mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the spool (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _grow(mount_point: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount_point)], check=True)


def _bodies() -> list[tuple[str, bytes]]:
    """Small auto-calls around one call-history body of about 52 KB, whose spool record alone exceeds the disk."""
    small = [("/webhooks/vbot/autocall", json.dumps(autocall_body(phone=f"0912{n:06d}")).encode())
             for n in range(24)]
    records = [call_record(callee=f"0913{n:06d}", record_file="https://rec.example/" + "r" * 150)
               for n in range(120)]
    big = ("/webhooks/vbot/call-history", json.dumps({"status": "1", "data": records}).encode())
    assert 50_000 < len(big[1]) < 60_000
    return small[:3] + [big] + small[3:]


def test_a_full_spool_disk_answers_503_and_every_202_lands_whole(
        outage: Outage, small_disk: Path, db_url: str) -> None:
    config = {"DB_URL": outage.url, "WEBHOOK_TOKENS": (TOKEN, OLD_TOKEN), "SPOOL_DIR": str(small_disk),
              "SPOOL_RETRY_SECONDS": 0, "DB_TIMEOUT_SECONDS": 0.3}
    bodies = _bodies()
    with werkzeug_server(config) as url:
        outage.down()
        answers = [(path, body, post(url, path, body)) for path, body in bodies]
        left_behind = sorted(p.name for p in small_disk.iterdir() if not p.name.endswith(".json"))

        _grow(small_disk, "8m")  # the operator frees the disk
        outage.up()
        retried = [post(url, path, body) for path, body, answer in answers if answer.status_code == 503]
        drained = subprocess.run([VBOTFLOW, "spool", "drain"], capture_output=True, text=True, timeout=120,
                                 check=False, env={**os.environ, "VBOTFLOW_DB_URL": db_url,
                                                   "VBOTFLOW_SPOOL_DIR": str(small_disk)})

    statuses = [answer.status_code for _, _, answer in answers]
    assert set(statuses) == {202, 503}, statuses  # the disk did fill up
    assert statuses[3] == 503, "the 52 KB delivery cannot fit the disk: it must not be acknowledged"
    assert left_behind in ([".drain.lock"], [])  # no temporary file of a failed write
    assert {answer.json()["detail"] for _, _, answer in answers if answer.status_code == 503} == {
        "storage unavailable; please retry"}
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert "0 left" in drained.stdout
    assert [r.status_code for r in retried] == [200] * len(retried)  # VBot's retry of each 503 now lands

    stored = {bytes(e["body"]): e for e in events(db_url)}
    spooled = [body for _, body, answer in answers if answer.status_code == 202]
    refused = [body for _, body, answer in answers if answer.status_code == 503]
    assert all(stored[body]["landed_via"] == "spool" for body in spooled)
    assert all(stored[body]["landed_via"] == "http" for body in refused)
    assert len(stored) == len(bodies)  # every delivery exactly once, byte for byte (the keys are the bodies)
    assert {e["kind"] for e in stored.values()} == {"autocall", "call_history"}
    assert sorted(p.name for p in small_disk.iterdir()) == [".drain.lock"]  # nothing corrupt, nothing left
