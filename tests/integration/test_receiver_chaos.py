"""The receiver as an operator would try it: a load with duplicates and malformed bodies, the database
stopped in the middle of it, a worker killed with SIGKILL — nothing acknowledged is lost or doubled.

gunicorn (3 workers × 8 threads, the project's config) on PostgreSQL reached through a loopback TCP
proxy; 32 clients with keep-alive post ``VBOTFLOW_CHAOS_DELIVERIES`` deliveries (default 10,000):
8 % repeats of earlier ones, 2 % malformed, 1 in 20 a call-history batch. After 30 % of the posts the
proxy is cut (the database is "down") and restored after 45 %; after 60 % one worker gets SIGKILL.
Like VBot, a client never resends: a delivery whose connection died has no answer.

Asserted: every delivery answered 200 or 202 is in ``webhook_event`` exactly once; every malformed
one answered 400 is there as a dead letter; nothing else was answered; the spool empties by itself
once the database is back; one scrape of ``/metrics`` counts every delivery that reached a worker.
Measured and printed (the README's figures come from here), never asserted: rate, latency, how
many were spooled, how long the replay took, how many posts the kill cut off.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from tests.integration.receiver_support import (
    TOKEN,
    Outage,
    autocall_body,
    call_record,
    events,
    gunicorn_process,
)

DELIVERIES = int(os.environ.get("VBOTFLOW_CHAOS_DELIVERIES", "10000"))
CLIENTS = 32
DOWN_AT, UP_AT, KILL_AT = 0.30, 0.45, 0.60


@dataclass
class Post:
    n: int
    path: str
    body: bytes
    kind: str  # autocall, call_history, malformed; repeats share the body of the delivery they repeat
    repeat_of: int | None = None
    status: int | None = None  # None: no answer (the connection died)
    seconds: float = 0.0
    phase: str = ""


def _workload() -> list[Post]:
    rng = random.Random(20261126)
    posts: list[Post] = []
    for n in range(DELIVERIES):
        if posts and rng.random() < 0.08:
            original = rng.choice([p for p in posts[-500:] if p.repeat_of is None])
            posts.append(Post(n, original.path, original.body, original.kind, repeat_of=original.n))
        elif rng.random() < 0.02 / 0.92:
            body = json.dumps(autocall_body(campaign_id=f"x{n}", phone=f"097{n:07d}")).encode()
            posts.append(Post(n, "/webhooks/vbot/autocall", body, "malformed"))
        elif n % 20 == 0:
            body = json.dumps({"status": "1", "data": [call_record(callee=f"098{n:07d}")]}).encode()
            posts.append(Post(n, "/webhooks/vbot/call-history", body, "call_history"))
        else:
            body = json.dumps(autocall_body(campaign_id=5000 + n % 11, phone=f"096{n:07d}")).encode()
            posts.append(Post(n, "/webhooks/vbot", body, "autocall"))
    return posts


def _workers(master: psutil.Process) -> set[int]:
    return {child.pid for child in master.children()}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_load_outage_and_kill_lose_and_double_nothing_acknowledged(db_url: str, tmp_path: Path) -> None:
    posts = _workload()
    outage = Outage(db_url)
    env = {"VBOTFLOW_SPOOL_RETRY_SECONDS": "0.5", "VBOTFLOW_RECEIVER_DB_TIMEOUT": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    done = 0
    done_lock = threading.Lock()
    phase = "before"
    marks: dict[str, float] = {}
    local = threading.local()

    def send(post: Post) -> None:
        nonlocal done
        if not hasattr(local, "session"):
            local.session = requests.Session()
        post.phase = phase
        started = time.perf_counter()
        try:
            answer = local.session.post(url + post.path, data=post.body, timeout=60,
                                        headers={"X-Webhook-Token": TOKEN, "Content-Type": "application/json"})
            post.status = answer.status_code
        except requests.ConnectionError:
            local.session = requests.Session()  # that connection's worker is gone; no resend, like VBot
        post.seconds = time.perf_counter() - started
        with done_lock:
            done += 1

    def conductor(master: psutil.Process) -> None:
        nonlocal phase
        for share, action in ((DOWN_AT, "down"), (UP_AT, "up"), (KILL_AT, "kill")):
            while done < share * DELIVERIES:
                time.sleep(0.01)
            marks[action] = time.monotonic()
            if action == "down":
                outage.down()
                phase = "outage"
            elif action == "up":
                outage.up()
                phase = "after"
            else:
                victim = sorted(_workers(master))[0]
                os.kill(victim, signal.SIGKILL)
                marks["victim"] = victim

    try:
        with gunicorn_process(outage.url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=3,
                              env=env) as (url, master_process):
            master = psutil.Process(master_process.pid)
            conductor_thread = threading.Thread(target=conductor, args=(master,), daemon=True)
            conductor_thread.start()
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                list(pool.map(send, posts))
            load_seconds = time.monotonic() - started
            conductor_thread.join(30)
            deadline = time.monotonic() + 180  # waiting for the replay, not a timing assertion
            while requests.get(url + "/healthz", timeout=30).json()["spool_depth"] and time.monotonic() < deadline:
                time.sleep(0.1)
            drained_at = time.monotonic()
            health = requests.get(url + "/healthz", timeout=30).json()
            metrics = requests.get(url + "/metrics", timeout=30).text
            replaced = marks["victim"] not in _workers(master) and len(_workers(master)) == 3
    finally:
        outage.close()

    statuses = Counter(p.status for p in posts)
    stored = events(db_url)
    by_body = Counter(bytes(e["body"]) for e in stored)
    answered_ok = {p.body for p in posts if p.status in (200, 202)}
    malformed_400 = {p.body for p in posts if p.kind == "malformed" and p.status == 400}
    received_metric = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                          if line.startswith("vbotflow_webhook_received_total{"))

    latency = [p.seconds for p in posts if p.status is not None]
    outage_latency = [p.seconds for p in posts if p.status is not None and p.phase == "outage"]
    print(f"\nchaos: {DELIVERIES} posts ({sum(p.repeat_of is not None for p in posts)} repeats, "
          f"{sum(p.kind == 'malformed' for p in posts)} malformed) from {CLIENTS} clients to 3 gunicorn workers "
          f"on PostgreSQL in {load_seconds:.1f} s = {DELIVERIES / load_seconds:.0f}/s; "
          f"latency p50 {statistics.median(latency) * 1000:.1f} ms, p99 {_percentile(latency, 0.99) * 1000:.1f} ms "
          f"(during the outage p50 {statistics.median(outage_latency) * 1000:.1f} ms)")
    print(f"chaos: answers {dict(sorted(statuses.items(), key=str))}; database down for "
          f"{marks['up'] - marks['down']:.1f} s, {statuses[202]} deliveries spooled, spool empty "
          f"{drained_at - marks['up']:.1f} s after the database came back; SIGKILL of one worker cut off "
          f"{statuses[None]} posts with no answer; rows {len(stored)}; /metrics received_total {received_metric:.0f}")

    assert replaced, "gunicorn replaced the killed worker"
    assert set(statuses) <= {200, 202, 400, None}, statuses  # no 5xx
    assert statuses[202] > 0 and statuses[None] >= 0
    assert health == {"status": "ok", "database": "ok", "spool_depth": 0}
    assert not list((tmp_path / "spool").glob("*.json*"))  # nothing left, nothing corrupt
    assert all(by_body[body] == 1 for body in answered_ok | malformed_400), "acknowledged, stored exactly once"
    assert all(count == 1 for count in by_body.values()), "nothing doubled"
    assert {bytes(e["body"]) for e in stored if e["kind"] == "invalid"} >= malformed_400
    assert all(p.status == 400 for p in posts if p.kind == "malformed" and p.status is not None)
    assert all(p.status in (200, 202) for p in posts if p.kind != "malformed" and p.status is not None)
    assert set(by_body) <= {p.body for p in posts}
    assert sum(p.status is not None for p in posts) <= received_metric <= DELIVERIES
