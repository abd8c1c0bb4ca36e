"""How a body is framed changes nothing: chunked or not, over the cap is 413, broken framing is 400,
and a stored body is always exactly the bytes sent. Under Werkzeug and under gunicorn (real sockets).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.receiver_support import (
    OLD_TOKEN,
    TOKEN,
    autocall_body,
    events,
    gunicorn_server,
    werkzeug_server,
)

CAP = 1024 * 1024


@pytest.fixture(params=["werkzeug", "gunicorn"])
def receiver(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    if request.param == "werkzeug":
        config = {"DB_URL": db_url, "WEBHOOK_TOKENS": (TOKEN, OLD_TOKEN), "SPOOL_DIR": str(tmp_path / "spool"),
                  "SPOOL_RETRY_SECONDS": 0}
        with werkzeug_server(config) as url:
            yield url
    else:
        with gunicorn_server(db_url, tmp_path / "spool", tmp_path / "gunicorn.log", workers=1) as url:
            yield url
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in log, log


def _pieces(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _post_chunked(url: str, body: bytes) -> requests.Response:
    # A generator makes requests send Transfer-Encoding: chunked, without Content-Length.
    return requests.post(url + "/webhooks/vbot/autocall", data=_pieces(body), timeout=60,
                         headers={"X-Webhook-Token": TOKEN, "Content-Type": "application/json"})


def _padded(size: int) -> bytes:
    """A valid auto-call body of exactly ``size`` bytes."""
    base = autocall_body(description="")
    padding = size - len(json.dumps(base).encode())
    body = json.dumps({**base, "description": "x" * padding}).encode()
    assert len(body) == size
    return body


def test_a_chunked_body_over_the_cap_is_413_and_nothing_is_stored(receiver: str, db_url: str) -> None:
    answer = _post_chunked(receiver, _padded(1_099_776))
    assert answer.status_code == 413
    assert answer.json() == {"error": "too_large", "detail": f"body is larger than {CAP} bytes"}
    assert events(db_url) == []


def test_a_chunked_body_one_byte_over_the_cap_is_413_and_one_at_the_cap_is_stored_exactly(
        receiver: str, db_url: str) -> None:
    over = _post_chunked(receiver, _padded(CAP + 1))
    at_cap = _padded(CAP)
    stored = _post_chunked(receiver, at_cap)

    assert over.status_code == 413
    assert stored.status_code == 200, stored.text
    [event] = events(db_url)
    assert (event["kind"], len(event["body"]), event["body"]) == ("autocall", CAP, at_cap)


def test_a_small_chunked_body_is_stored_byte_for_byte(receiver: str, db_url: str) -> None:
    body = json.dumps(autocall_body(), ensure_ascii=False, indent=1).encode()
    answer = requests.post(receiver + "/webhooks/vbot/autocall", data=_pieces(body, size=7), timeout=30,
                           headers={"X-Webhook-Token": TOKEN, "Content-Type": "application/json"})
    assert answer.status_code == 200
    assert [e["body"] for e in events(db_url)] == [body]


def _raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    return answer


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _chunked_request(chunks: bytes) -> bytes:
    return (b"POST /webhooks/vbot/autocall HTTP/1.1\r\nHost: receiver\r\n"
            b"X-Webhook-Token: " + TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunks)


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(b"zz\r\n{}\r\n0\r\n\r\n", id="invalid chunk size"),
        pytest.param(b'5\r\n{"a":XX1}\r\n0\r\n\r\n', id="chunk missing its terminator"),
        pytest.param(b"-5\r\nhello\r\n0\r\n\r\n", id="negative chunk size"),
    ],
)
def test_broken_chunk_framing_is_400_and_nothing_is_stored(receiver: str, db_url: str, chunks: bytes) -> None:
    answer = _raw_exchange(receiver, _chunked_request(chunks))
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert json.loads(payload)["error"] == "bad_request"
    assert json.loads(payload)["detail"].startswith("the body's framing is broken ("), payload
    assert events(db_url) == []
    # The receiver is still there for the next sender.
    good = requests.post(receiver + "/webhooks/vbot/autocall", json=autocall_body(), timeout=30,
                         headers={"X-Webhook-Token": TOKEN})
    assert good.status_code == 200
