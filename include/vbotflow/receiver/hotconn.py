"""Autocommit psycopg connections for the receiver's hot path: the one-statement INSERT of a delivery.

SQLAlchemy's pool checkout and return (with its reset), plus switching a pooled connection into
autocommit and back, cost more CPU than the INSERT itself. These connections are made by the
engine (its URL, connect arguments and timeouts), then detached from its pool and kept here in
autocommit mode: taking one is a ``deque.pop``. There are never more than the threads that use
them at once. ``engine.dispose()`` closes them, like the engine's own pool. Beside them, the
process's ``Batcher`` of those INSERTs.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.receiver.batching import Batcher

# The database is away, or stalled past the statement timeout: a delivery is spooled, and a replay
# of the spool stops there (everything after it would fail the same way).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError,
                                                  sa.exc.DisconnectionError, sa.exc.TimeoutError)


class HotConnections:
    """Idle autocommit connections of one engine, in one process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: deque[psycopg.Connection] = deque()
        self._pid = os.getpid()
        self._closed = False
        # The INSERTs of deliveries arriving together go as one statement (``batching``).
        self.inserts: Batcher = Batcher(outage=OUTAGE_ERRORS)

    def _new(self) -> psycopg.Connection:
        try:
            pooled = self._engine.raw_connection()
        except psycopg.Error as err:  # raw_connection does not wrap a failed connect: an outage all the same
            raise sa.exc.DBAPIError.instance(None, None, err, psycopg.Error) from err
        conn = pooled.driver_connection
        pooled.detach()  # ours from now on: the pool neither resets nor counts it
        try:
            conn.autocommit = True
        except psycopg.Error as err:
            conn.close()
            raise sa.exc.DBAPIError.instance(None, None, err, psycopg.Error) from err
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection in autocommit mode; a broken one is dropped with every idle one (a server restart)."""
        try:
            conn = self._idle.pop()  # atomic: no lock needed between threads
        except IndexError:
            conn = self._new()
        try:
            yield conn
        finally:
            if conn.broken or conn.closed:
                conn.close()
                self.close_idle()
                # The engine's idle pooled connections went the same way: the next connect must be new.
                self._engine.pool.dispose()
            elif self._closed:
                conn.close()
            else:
                self._idle.append(conn)

    def close_idle(self) -> None:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return
            conn.close()

    def close(self) -> None:
        self._closed = True
        self.close_idle()


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, HotConnections] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def hot_connections(engine: Engine) -> HotConnections:
    """The hot connections of ``engine`` in this process (a forked child starts with none)."""
    found = _BY_ENGINE.get(engine)
    if found is not None and found._pid == os.getpid():
        return found
    with _LOCK:
        found = _BY_ENGINE.get(engine)
        if found is None or found._pid != os.getpid():
            found = _BY_ENGINE[engine] = HotConnections(engine)
            if not sa.event.contains(engine, "engine_disposed", _close_on_dispose):
                sa.event.listen(engine, "engine_disposed", _close_on_dispose)
    return found


def _close_on_dispose(engine: Engine) -> None:
    found = _BY_ENGINE.pop(engine, None)
    if found is not None and found._pid == os.getpid():
        found.close()
