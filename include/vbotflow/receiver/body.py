"""Reading a delivery's body: every byte or none, under a size cap and a time limit, however it is framed.

Werkzeug's ``request.get_data()`` stops silently at the size cap when a body has no Content-Length
(chunked), and lets the server's chunk-parsing errors escape as a 500. Here a body is either read
whole — the exact bytes the sender framed — or refused with the reason: over the cap (413), broken
framing or a sender that went away (400), or too slow (408). Nothing refused is ever stored.

The time limit is a deadline for the whole body, not per read: a sender that trickles a byte at a
time would pass any idle timeout while holding one of the server's threads. A single watchdog
thread per process shuts the reading side of a socket whose deadline passed, which ends the read.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from gunicorn.http.errors import ParseException

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024


class BodyRefused(Exception):
    """The body cannot be taken; ``status`` is the HTTP answer and ``str()`` the reason."""

    status = 400


class BodyTooLarge(BodyRefused):
    status = 413


class BodyMalformed(BodyRefused):
    status = 400


class BodyTooSlow(BodyRefused):
    status = 408


class _Watch:
    __slots__ = ("sock", "expired")

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock
        self.expired = False


class ReadDeadlines:
    """Ends body reads that outlive their deadline: one watchdog thread per process, started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @contextmanager
    def watch(self, sock: socket.socket | None, seconds: float) -> Iterator[_Watch]:
        """While inside, the reading side of ``sock`` is shut once ``seconds`` have passed."""
        watch = _Watch(sock)
        if sock is None or seconds <= 0:
            yield watch
            return
        with self._cond:
            self._start_if_needed()
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._heap[0][2] is watch:
                # Only a new earliest deadline needs the watchdog now: it already waits for the earliest
                # one, and waking it on every request costs a thread switch per delivery.
                self._cond.notify()
        try:
            yield watch
        finally:
            with self._cond:
                watch.sock = None  # done: the watchdog must leave this socket alone (keep-alive reuses it)

    def _start_if_needed(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        # A forked worker inherits the object but not the thread, nor the parent's reads.
        self._heap = []
        self._thread = threading.Thread(target=self._run, name="body-read-deadlines", daemon=True)
        self._pid = os.getpid()
        self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].sock is None:
                    heapq.heappop(self._heap)  # finished reads
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, watch = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                watch.expired = True
                try:
                    watch.sock.shutdown(socket.SHUT_RD)  # a blocked recv returns at once, empty
                except OSError:
                    pass  # the sender already went away


def _content_length(environ: Mapping[str, Any]) -> int | None:
    value = environ.get("CONTENT_LENGTH")
    if value in (None, ""):
        return None
    try:
        length = int(value)
    except ValueError as err:
        raise BodyMalformed("Content-Length is not a number") from err
    if length < 0:
        raise BodyMalformed("Content-Length is negative")
    return length


def _read(stream: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes, reading until the stream ends or the limit is reached."""
    parts: list[bytes] = []
    total = 0
    while total < limit:
        chunk = stream.read(min(READ_SIZE, limit - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def read_body(environ: Mapping[str, Any], max_bytes: int, deadlines: ReadDeadlines | None = None,
              timeout_seconds: float = 0) -> bytes:
    """The request body, exactly as sent, or ``BodyRefused`` (413, 400 or 408) with nothing kept.

    ``timeout_seconds`` (0: none) bounds the time to read the whole body, when the server exposes
    its socket (gunicorn's ``gunicorn.socket``, Werkzeug's ``werkzeug.socket``).
    """
    length = _content_length(environ)
    if length is not None and length > max_bytes:
        raise BodyTooLarge(f"body is larger than {max_bytes} bytes")
    if length is None and not environ.get("wsgi.input_terminated"):
        return b""  # no Content-Length and no chunked framing the server understood: no body (PEP 3333)
    stream = environ["wsgi.input"]
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    deadlines = deadlines or ReadDeadlines()
    with deadlines.watch(sock if timeout_seconds > 0 else None, timeout_seconds) as watch:
        try:
            # One byte past the cap tells an oversized chunked body from one exactly at the cap.
            body = _read(stream, length if length is not None else max_bytes + 1)
        except (ParseException, OSError, ValueError) as err:
            if watch.expired:
                raise BodyTooSlow(f"the body did not arrive within {timeout_seconds:g} seconds") from err
            raise BodyMalformed(f"the body's framing is broken ({type(err).__name__})") from err
    if watch.expired and (length is None or len(body) < length):
        raise BodyTooSlow(f"the body did not arrive within {timeout_seconds:g} seconds")
    if length is None and len(body) > max_bytes:
        raise BodyTooLarge(f"body is larger than {max_bytes} bytes")
    if length is not None and len(body) < length:
        raise BodyMalformed(f"the body ended after {len(body)} of {length} bytes (Content-Length)")
    return body
