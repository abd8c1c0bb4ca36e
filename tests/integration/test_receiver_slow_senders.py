"""Slow senders cannot starve the others: a body that does not arrive within the read deadline is
refused (408, nothing stored) and its thread freed, so a normal delivery still gets through.

gunicorn with one worker of 4 threads faces 12 senders that trickle their bodies a byte at a time
(each would need minutes); a normal delivery is sent once they all hold a connection. Time is
measured and printed, never asserted; what is asserted is the order of events: the normal delivery
is answered while the slow senders are still sending, and the slow ones are refused, not stored.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from pathlib import Path

import requests

from tests.integration.receiver_support import TOKEN, autocall_body, events, gunicorn_server

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
            while not self.stop.is_set() and self.sent < len(self.body):
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable:
                    break  # the server answered (or closed) before the body was complete
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
