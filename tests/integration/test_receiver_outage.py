"""The database goes away mid-stream: deliveries are spooled (202), replayed after, none lost, none doubled.

How the database goes away: ``receiver_support.Outage``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

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

BAD_BODY = json.dumps(autocall_body(campaign_id="x")).encode()
VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))


@pytest.fixture
def outage(db_url: str) -> Iterator[Outage]:
    outage = Outage(db_url)
    yield outage
    outage.close()


@contextmanager
def _receiver(url: str, spool_dir: Path, retry_seconds: float) -> Iterator[str]:
    config = {"DB_URL": url, "WEBHOOK_TOKENS": (TOKEN, OLD_TOKEN), "SPOOL_DIR": str(spool_dir),
              "SPOOL_RETRY_SECONDS": retry_seconds, "DB_TIMEOUT_SECONDS": 0.3}
    with werkzeug_server(config) as base:
        yield base


def _autocalls(first: int, count: int) -> list[dict]:
    return [autocall_body(campaign_id=77, phone=f"09{n:08d}", status=200) for n in range(first, first + count)]


def _post_all(url: str, bodies: list[dict], clients: int = 2) -> list[requests.Response]:
    # Few clients while the database is up: SQLite serialises writers, and the receiver's short lock
    # timeout (which makes the outage fast to test) must not expire behind a busy queue of them.
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda body: post(url, "/webhooks/vbot", body), bodies))


def _drain(url: str, spool_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VBOTFLOW_DB_URL": url, "VBOTFLOW_SPOOL_DIR": str(spool_dir)}
    return subprocess.run([VBOTFLOW, "spool", "drain", "--db-timeout", "0.5"], capture_output=True, text=True,
                          env=env, timeout=120)


def test_deliveries_during_an_outage_are_spooled_then_drained_once(
        outage: Outage, db_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    before, during, after = _autocalls(0, 40), _autocalls(100, 40), _autocalls(200, 20)
    batch = {"status": "1", "data": [call_record(callee="0912000001"), call_record(callee="0912000002")]}

    with _receiver(outage.url, spool_dir, retry_seconds=0) as url:
        assert Counter(a.status_code for a in _post_all(url, before)) == {200: 40}

        outage.down()
        # New deliveries, repeats of stored ones, and repeats within the outage itself.
        down_answers = _post_all(url, during + before[:5] + during[:5], clients=8)
        down_answers.append(post(url, "/webhooks/vbot/call-history", batch))
        malformed = post(url, "/webhooks/vbot/autocall", BAD_BODY)
        health = requests.get(url + "/healthz", timeout=30).json()
        still_down = _drain(outage.url, spool_dir)

        outage.up()
        up_answers = _post_all(url, after)

    assert Counter(a.status_code for a in down_answers) == {202: 51}
    assert {a.json()["status"] for a in down_answers} == {"spooled"}
    assert malformed.status_code == 400
    assert malformed.json() == {"error": "invalid_body", "detail": "campaign_id must be an integer (got string)",
                                "stored": True, "spooled": True}
    # A locked SQLite file still answers reads; a PostgreSQL server behind a cut proxy answers nothing.
    database = "unreachable" if outage.proxy else "ok"
    assert health == {"status": "degraded", "database": database, "spool_depth": 52}
    assert still_down.returncode == 1 and "stopped: OperationalError" in still_down.stderr
    assert len(list(spool_dir.glob("*.json"))) == 52  # a failed drain deletes nothing
    assert Counter(a.status_code for a in up_answers) == {200: 20}

    drained = _drain(db_url, spool_dir)
    assert drained.returncode == 0, drained.stderr
    assert f"replayed 52 spooled delivery(ies) from {spool_dir}; 0 left" in drained.stdout
    again = _drain(db_url, spool_dir)
    assert "replayed 0 spooled delivery(ies)" in again.stdout

    stored = events(db_url)
    expected_phones = {b["phone"] for b in before + during + after}
    assert {e["phone"] for e in stored if e["kind"] == "autocall"} == expected_phones
    assert len(stored) == len(expected_phones) + 2  # plus the call-history batch and the dead letter
    assert Counter(e["landed_via"] for e in stored) == {"http": 60, "spool": 42}
    assert len({e["dedupe_key"] for e in stored}) == len(stored)
    spooled_bad = [e for e in stored if e["kind"] == "invalid"]
    assert [(e["body"], e["parse_error"]) for e in spooled_bad] == [
        (BAD_BODY, "campaign_id must be an integer (got string)")]


def test_the_receiver_replays_its_spool_by_itself_once_the_database_answers(
        outage: Outage, db_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    with _receiver(outage.url, spool_dir, retry_seconds=0.1) as url:
        outage.down()
        assert Counter(a.status_code for a in _post_all(url, _autocalls(0, 15), clients=8)) == {202: 15}
        outage.up()
        assert post(url, "/webhooks/vbot", _autocalls(50, 1)[0]).status_code == 200
        deadline = time.monotonic() + 60  # a wait for the background thread, not a timing assertion
        while requests.get(url + "/healthz", timeout=30).json()["spool_depth"] and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = requests.get(url + "/metrics", timeout=30).text

    assert not list(spool_dir.glob("*.json"))
    expected = sorted(b["phone"] for b in _autocalls(0, 15) + _autocalls(50, 1))
    assert sorted(e["phone"] for e in events(db_url)) == expected
    assert "vbotflow_webhook_spooled_total 15.0" in metrics
    assert "vbotflow_webhook_spool_replayed_total 15.0" in metrics


def test_when_neither_the_database_nor_the_spool_can_take_it_the_answer_is_503(
        outage: Outage, db_url: str, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "spool"
    not_a_directory.write_text("a file where the spool directory should be")
    with _receiver(outage.url, not_a_directory, retry_seconds=0) as url:
        outage.down()
        answer = post(url, "/webhooks/vbot/autocall", autocall_body())
        metrics = requests.get(url + "/metrics", timeout=30).text
        outage.up()

    assert answer.status_code == 503  # nothing acknowledged: VBot may retry
    assert answer.json() == {"error": "unavailable", "detail": "storage unavailable; please retry"}
    assert "vbotflow_webhook_spool_failures_total 1.0" in metrics
    assert events(db_url) == []
