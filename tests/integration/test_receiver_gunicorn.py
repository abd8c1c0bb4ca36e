"""The receiver as deployed: gunicorn with several workers, under concurrent load, with masked access logs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.integration.receiver_support import (
    TOKEN,
    autocall_body,
    call_record,
    call_records,
    events,
    free_port,
    gunicorn_server,
    post,
    wait_until_up,
)

DELIVERIES = 2_000
CLIENTS = 32
DUPLICATE_SHARE = 0.10


def _workload() -> tuple[list[tuple[str, dict]], int, int]:
    """2,000 posts: 1,800 distinct deliveries (1 in 10 a call-history pair) plus 200 repeats, shuffled."""
    rng = random.Random(20261126)
    unique_count = int(DELIVERIES * (1 - DUPLICATE_SHARE))
    unique: list[tuple[str, dict]] = []
    records = 0
    for n in range(unique_count):
        if n % 10 == 0:
            body = {"status": "1", "data": [call_record(callee=f"09{n:08d}"), call_record(callee=f"08{n:08d}")]}
            unique.append(("/webhooks/vbot/call-history", body))
            records += 2
        else:
            path = "/webhooks/vbot" if n % 3 else "/webhooks/vbot/autocall"
            unique.append((path, autocall_body(campaign_id=1000 + n % 7, phone=f"09{n:08d}", status=n % 5 + 2)))
    posts = unique + [rng.choice(unique) for _ in range(DELIVERIES - unique_count)]
    rng.shuffle(posts)
    return posts, unique_count, records


def test_concurrent_deliveries_with_duplicates_are_stored_exactly_once(db_url: str, tmp_path: Path) -> None:
    posts, unique_count, record_count = _workload()
    local = threading.local()

    def send(item: tuple[str, dict]) -> tuple[int, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()  # keep-alive per client, like a real sender
        path, body = item
        answer = local.session.post(
            url + path, json=body, headers={"X-Webhook-Token": TOKEN}, timeout=60)
        return answer.status_code, answer.json().get("status", "")

    with gunicorn_server(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=3) as url:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answers = list(pool.map(send, posts))

    statuses = Counter(code for code, _ in answers)
    assert statuses == {200: DELIVERIES}, statuses  # no 5xx, nothing spooled, nothing refused
    outcomes = Counter(outcome for _, outcome in answers)
    assert outcomes == {"stored": unique_count, "duplicate": DELIVERIES - unique_count}
    stored = events(db_url)
    assert len(stored) == unique_count
    assert len({e["dedupe_key"] for e in stored}) == unique_count
    assert {e["kind"] for e in stored} == {"autocall", "call_history"}
    assert len(call_records(db_url)) == record_count
    assert not list((tmp_path / "spool").glob("*.json"))


def test_a_query_string_token_is_masked_in_the_gunicorn_access_log(db_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "gunicorn.log"
    with gunicorn_server(db_url, tmp_path / "spool", log_path, workers=1, log_level="debug") as url:
        answer = post(url, "/webhooks/vbot/autocall", autocall_body(), token=None, params={"token": TOKEN, "x": "1"})
        assert answer.status_code == 200
    log = log_path.read_text()
    assert '"POST /webhooks/vbot/autocall?token=***&x=1 HTTP/1.1" 200' in log
    assert TOKEN not in log
    assert "0912345678" not in log  # the receiver's own log line masks the phone
    assert "phone=09******78" in log


def test_a_query_string_token_is_masked_in_the_development_server_log(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VBOTFLOW_DB_URL": db_url, "VBOTFLOW_WEBHOOK_TOKEN": TOKEN,
           "VBOTFLOW_SPOOL_DIR": str(tmp_path / "spool")}
    vbotflow = str(Path(sys.executable).with_name("vbotflow"))
    process = subprocess.Popen([vbotflow, "receiver", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, process)
        answer = post(url, "/webhooks/vbot/autocall", autocall_body(), token=None, params={"token": TOKEN})
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "POST /webhooks/vbot/autocall?token=*** HTTP/1.1" in output
    assert TOKEN not in output
    assert len(events(db_url)) == 1
