"""Slow senders cannot starve the others.

gunicorn with one worker of 4 threads faces senders that trickle their bodies a byte at a time
(each would need minutes); a normal delivery is sent once they all hold a connection. Alone, the
receiver refuses a body that does not arrive within its read deadline (408, nothing stored) and
frees the thread; behind nginx (``scripts/compose/receiver-proxy.conf``, as in docker-compose) the
slow senders never reach gunicorn at all. Time is measured and printed, never asserted; what is
asserted is the order of events: the normal delivery is answered while every slow sender is still
sending, and nothing of theirs is stored.
"""

from __future__ import annotations

import json
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.integration.receiver_support import (
    REPO_ROOT,
    TOKEN,
    autocall_body,
    events,
    free_port,
    gunicorn_server,
    wait_until_up,
)

SLOW_SENDERS = 12
THREADS = 4
BODY_TIMEOUT = "1"


class SlowSender(threading.Thread):
    """Sends the headers at once, then one byte of the body every 0.2 s, until the server answers."""

    def __init__(self, url: str, n: int) -> None:
        super().__init__(daemon=True)
        self.body = json.dumps(autocall_body(phone=f"0915{n:06d}")).encode()
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.sent = 0
        self.answer = b""

    def run(self) -> None:
        with socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(b"POST /webhooks/vbot/autocall HTTP/1.1\r\nHost: receiver\r\nX-Webhook-Token: "
                         + TOKEN.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(self.body)).encode() + b"\r\n\r\n")
            self.connected.set()
            while self.sent < len(self.body):
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable:
                    break  # the server answered (or closed) before the body was complete
                if self.stop.is_set():
                    return  # the test is over: hang up
                try:
                    sock.sendall(self.body[self.sent:self.sent + 1])
                except OSError:
                    break
                self.sent += 1
            sock.settimeout(10)
            try:
                while piece := sock.recv(65536):
                    self.answer += piece
                    if self.answer.endswith(b"}\n"):
                        break  # the whole JSON answer
            except OSError:
                pass


def test_slow_bodies_are_cut_off_and_a_normal_delivery_gets_through(db_url: str, tmp_path: Path) -> None:
    env = {"VBOTFLOW_RECEIVER_BODY_TIMEOUT": BODY_TIMEOUT}
    with gunicorn_server(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=1, threads=THREADS,
                         env=env) as url:
        slow = [SlowSender(url, n) for n in range(SLOW_SENDERS)]
        for sender in slow:
            sender.start()
        for sender in slow:
            assert sender.connected.wait(30)
        time.sleep(0.5)  # let them take every thread of the worker
        started = time.monotonic()
        normal = requests.post(url + "/webhooks/vbot/autocall", json=autocall_body(phone="0916000001"),
                               headers={"X-Webhook-Token": TOKEN}, timeout=60)
        waited = time.monotonic() - started
        still_sending = [s.sent < len(s.body) for s in slow]
        for sender in slow:
            sender.join(60)
            sender.stop.set()

    print(f"\nslow senders: {SLOW_SENDERS} against {THREADS} threads, body deadline {BODY_TIMEOUT} s: "
          f"a normal delivery waited {waited:.2f} s")
    assert normal.status_code == 200 and normal.json()["status"] == "stored"
    assert all(still_sending), "the normal delivery was answered while every slow sender was still sending"
    assert [s.answer.split(b"\r\n", 1)[0] for s in slow] == [b"HTTP/1.1 408 REQUEST TIMEOUT"] * SLOW_SENDERS
    assert all(b'"error":"timeout"' in s.answer for s in slow)
    assert [e["phone"] for e in events(db_url)] == ["0916000001"]  # nothing of the slow ones was stored


@contextmanager
def nginx_in_front(receiver_url: str, directory: Path) -> Iterator[str]:
    """The compose file's nginx configuration, pointed at ``receiver_url``, on a free loopback port."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx-light; .ci/run does it)")
    port = free_port()
    config = (REPO_ROOT / "scripts" / "compose" / "receiver-proxy.conf").read_text()
    assert "server receiver:8081;" in config and "listen 8080;" in config
    config = (config.replace("server receiver:8081;", f"server {receiver_url.removeprefix('http://')};")
              .replace("listen 8080;", f"listen 127.0.0.1:{port};")
              .replace("worker_processes auto;", "worker_processes 1;"))
    directory.mkdir()
    (directory / "nginx.conf").write_text(config)
    process = subprocess.Popen([nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"),
                                "-g", f"daemon off; user root; pid {directory / 'nginx.pid'};"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_behind_the_buffering_proxy_slow_senders_never_hold_a_receiver_thread(db_url: str, tmp_path: Path) -> None:
    slow_count = 48
    with gunicorn_server(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=1,
                         threads=THREADS) as receiver, nginx_in_front(receiver, tmp_path / "nginx") as url:
        slow = [SlowSender(url, n) for n in range(slow_count)]
        for sender in slow:
            sender.start()
        for sender in slow:
            assert sender.connected.wait(30)
        time.sleep(0.5)
        started = time.monotonic()
        normal = requests.post(url + "/webhooks/vbot/autocall", json=autocall_body(phone="0916000002"),
                               headers={"X-Webhook-Token": TOKEN}, timeout=60)
        waited = time.monotonic() - started
        still_sending = [s.sent < len(s.body) for s in slow]
        for sender in slow:
            sender.stop.set()
        for sender in slow:
            sender.join(30)

    print(f"\nslow senders: {slow_count} through nginx (proxy_request_buffering) against {THREADS} threads: "
          f"a normal delivery waited {waited:.3f} s")
    assert normal.status_code == 200 and normal.json()["status"] == "stored"
    assert all(still_sending)
    assert [e["phone"] for e in events(db_url)] == ["0916000002"]
