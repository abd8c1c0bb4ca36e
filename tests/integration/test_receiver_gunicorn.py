"""The receiver as deployed: gunicorn with several workers, under concurrent load, metrics of all workers, logs
that never hold a token."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, unquote, unquote_plus

import psutil
import requests

from tests.integration.receiver_support import (
    TOKEN,
    autocall_body,
    call_record,
    call_records,
    events,
    free_port,
    gunicorn_process,
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


def _connections_per_worker(master: subprocess.Popen, port: int) -> list[int]:
    return sorted((sum(1 for c in worker.net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                   for worker in psutil.Process(master.pid).children()), reverse=True)


def test_a_burst_of_keep_alive_connections_is_shared_by_the_workers(db_url: str, tmp_path: Path) -> None:
    # A gthread worker keeps each connection it accepts; the first worker to wake could take a whole
    # burst (every sender's keep-alive connection on one process). Several bursts: that was luck.
    workers, threads = 3, 4
    with gunicorn_process(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers, threads) as (url, master):
        port = int(url.rsplit(":", 1)[1])

        def wait_until(done: Callable[[], bool]) -> None:
            deadline = time.monotonic() + 30
            while not done():
                assert time.monotonic() < deadline, _connections_per_worker(master, port)
                time.sleep(0.05)

        def burst() -> list[int]:
            clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(workers * threads)]
            try:
                wait_until(lambda: sum(_connections_per_worker(master, port)) == len(clients))
                return _connections_per_worker(master, port)
            finally:
                for client in clients:
                    client.close()
                wait_until(lambda: not sum(_connections_per_worker(master, port)))

        # Workers start accepting once they have loaded the app: until every one took a connection.
        deadline = time.monotonic() + 60
        while not all(burst()):
            assert time.monotonic() < deadline, "not every worker accepts connections"
        for n in range(5):
            held = burst()
            assert len(held) == workers and held[0] <= 2 * threads, (n, held)


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


# -- /metrics: one scrape counts the whole receiver -------------------------------------------------------

def _received(url: str) -> float:
    # A new connection per scrape (no session): each may be answered by any worker.
    text = requests.get(url + "/metrics", timeout=30, headers={"Connection": "close"}).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vbotflow_webhook_received_total{"))


def _workers(master: subprocess.Popen) -> set[int]:
    return {child.pid for child in psutil.Process(master.pid).children()}


def _leave_stale_counts(metrics_dir: Path) -> None:
    """Counter files as a previous run of the receiver would have left them in the directory."""
    code = ("from prometheus_client import CollectorRegistry, Counter; "
            "Counter('vbotflow_webhook_received_total', 'x', ['endpoint'], registry=CollectorRegistry())"
            ".labels('autocall').inc(1000)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    assert list(metrics_dir.glob("counter_*.db"))


def test_every_scrape_counts_all_workers_and_a_killed_worker_still_counts(db_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _leave_stale_counts(metrics_dir)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with gunicorn_process(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=3, env=env) as (url, master):
        for n in range(60):
            answer = post(url, "/webhooks/vbot/autocall", autocall_body(phone=f"0914{n:06d}"),
                          headers={"Connection": "close"})
            assert answer.status_code == 200
        before_kill = [_received(url) for _ in range(12)]

        victim = sorted(_workers(master))[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60  # waiting for gunicorn to replace it, not a timing assertion
        while (victim in _workers(master) or len(_workers(master)) < 3) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim not in _workers(master) and len(_workers(master)) == 3

        for n in range(60, 90):
            post(url, "/webhooks/vbot/autocall", autocall_body(phone=f"0914{n:06d}"), headers={"Connection": "close"})
        after_kill = [_received(url) for _ in range(12)]

    # Each scrape (a metrics request is not counted as a delivery) sees every worker's deliveries,
    # nothing of the previous run, and the killed worker's deliveries after its death.
    assert before_kill == [60.0] * 12
    assert after_kill == [90.0] * 12
    assert len(events(db_url)) == 90


# -- no byte of a token in any log, whatever the sender does ----------------------------------------------

_BODY = json.dumps(autocall_body()).encode()


def _request(line: bytes, *headers: bytes, body: bytes = _BODY) -> bytes:
    return (line + b"\r\nHost: receiver\r\n" + b"".join(h + b"\r\n" for h in headers)
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


_T = TOKEN.encode()
HOSTILE = {
    # refused (401): gunicorn would log the decoded Basic-auth user
    "basic auth, token as user": _request(b"POST /webhooks/vbot/autocall HTTP/1.1",
                                          b"Authorization: Basic " + base64.b64encode(_T + b":")),
    "basic auth, token as password": _request(b"POST /webhooks/vbot/autocall HTTP/1.1",
                                              b"Authorization: Basic " + base64.b64encode(b"vbot:" + _T)),
    # accepted (200): Werkzeug decodes the parameter name, a literal "token=" mask would not see it
    "percent-encoded parameter name": _request(b"POST /webhooks/vbot/autocall?to%6Ben=" + _T + b" HTTP/1.1"),
    "percent-encoded token": _request(b"POST /webhooks/vbot/autocall?x=1&%74oken=" + quote(TOKEN, safe="").encode()
                                      .replace(b"t", b"%74") + b" HTTP/1.1"),
    # refused by gunicorn itself (400), which quotes the request line in its error log
    "raw UTF-8 in the request line": _request(f"POST /webhooks/vbot/autocall?token={TOKEN}&name=Nguyễn HTTP/1.1"
                                              .encode()),
    "a NUL in the request line": _request(b"POST /webhooks/vbot/autocall?token=" + _T + b"\x00 HTTP/1.1"),
    "the token as the method": _request(_T + b" /webhooks/vbot/autocall HTTP/1.1"),
    "the token in a bad header name": _request(b"POST /webhooks/vbot/autocall HTTP/1.1",
                                               b"X-Webhook-Token" + _T + b"[]: 1"),
    "the token as the transfer coding": _request(b"POST /webhooks/vbot/autocall HTTP/1.1",
                                                 b"Transfer-Encoding: " + _T),
    "the token as an expectation": _request(b"POST /webhooks/vbot/autocall HTTP/1.1", b"Expect: " + _T),
    "a bad HTTP version": _request(b"POST /webhooks/vbot/autocall?token=" + _T + b" HTTP/9.x"),
    "a request line too long": _request(b"POST /webhooks/vbot/autocall?token=" + _T + b"&p=" + b"a" * 9000
                                        + b" HTTP/1.1"),
    # the token where it does not belong
    "the token in the path": _request(b"POST /webhooks/" + _T + b" HTTP/1.1"),
    "the token percent-encoded in the path": _request(b"POST /webhooks/%74" + _T[1:] + b" HTTP/1.1"),
    "the token as a header value with a control character": _request(b"POST /webhooks/vbot/autocall HTTP/1.1",
                                                                     b"X-Webhook-Token: " + _T + b"\x01"),
}


def _send(url: str, raw: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    return answer.split(b"\r\n", 1)[0]


def _forms_of_the_token_in(text: str) -> list[str]:
    """Every place ``text`` holds the token: as is, percent-decoded, or inside a base64 word."""
    found = [f"as is at {text.index(TOKEN)}"] if TOKEN in text else []
    for word in re.findall(r"[^\s\"'\[\]]+", text):
        if TOKEN in unquote(unquote_plus(word)):
            found.append(f"percent-encoded: {word[:80]}")
        for candidate in re.findall(r"[A-Za-z0-9+/=_-]{8,}", word):
            try:
                decoded = base64.b64decode(candidate + "=" * (-len(candidate) % 4)).decode("latin-1")
            except ValueError:
                continue
            if TOKEN in decoded:
                found.append(f"base64: {candidate[:80]}")
    return found


def test_no_log_holds_the_token_whatever_the_sender_sends(db_url: str, tmp_path: Path) -> None:
    logs = {"stdout+stderr": tmp_path / "gunicorn.log", "access": tmp_path / "access.log",
            "error": tmp_path / "error.log"}
    env = {"VBOTFLOW_RECEIVER_ACCESS_LOG": str(logs["access"]), "VBOTFLOW_RECEIVER_ERROR_LOG": str(logs["error"])}
    with gunicorn_server(db_url, tmp_path / "spool", logs["stdout+stderr"], workers=1, log_level="debug",
                         env=env) as url:
        answers = {name: _send(url, raw) for name, raw in HOSTILE.items()}

    texts = {name: path.read_bytes().decode("utf-8", "replace") for name, path in logs.items() if path.exists()}
    assert {name: _forms_of_the_token_in(text) for name, text in texts.items()} == dict.fromkeys(texts, [])
    assert answers["basic auth, token as user"].startswith(b"HTTP/1.1 401 ")
    assert answers["percent-encoded parameter name"].startswith(b"HTTP/1.1 200 ")
    assert answers["percent-encoded token"].startswith(b"HTTP/1.1 200 ")
    assert answers["raw UTF-8 in the request line"].startswith(b"HTTP/1.1 400 ")
    # Each log went where it was configured to, and says what happened.
    assert set(texts) == set(logs)
    assert texts["access"].count("POST /webhooks/vbot/autocall") >= 4
    assert "Invalid request" in texts["error"]
    assert {e["kind"] for e in events(db_url)} == {"autocall"}
