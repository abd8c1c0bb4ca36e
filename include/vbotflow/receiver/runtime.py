"""What a receiver process holds: its database engine, the spool, its metrics, the replay thread.

Created by ``create_app`` but connected lazily, per process: a gunicorn master that imported the
app (``--preload``) must not hand one connection pool to several forked workers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.receiver import store
from vbotflow.receiver.body import ReadDeadlines
from vbotflow.receiver.logmask import log_failure
from vbotflow.receiver.metrics import ReceiverMetrics
from vbotflow.receiver.signature import Webhook
from vbotflow.receiver.spool import DrainResult, Spool
from vbotflow.store.db import make_engine

log = logging.getLogger(__name__)
# How often a process looks for spooled deliveries after one landed (the replay thread looks anyway).
SPOOL_LOOK_SECONDS = 1.0


def receiver_engine(url: str, timeout_seconds: float) -> Engine:
    """An engine that gives up after ``timeout_seconds``: a delivery is better spooled than kept waiting.

    ``hide_parameters``: a database error must not print a delivery's phone numbers into the log.
    """
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = make_engine(url, hide_parameters=True)
        busy_ms = int(timeout_seconds * 1000)

        @sa.event.listens_for(engine, "connect")
        def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
            # Runs after make_engine's own pragmas: a locked database fails fast, into the spool.
            dbapi_conn.execute(f"PRAGMA busy_timeout={busy_ms}")

        return engine
    if backend == "postgresql":
        # No pre-ping: it costs a round trip per request; store.land retries once on a dropped connection.
        return make_engine(url, pool_pre_ping=False, hide_parameters=True, connect_args={
            "connect_timeout": max(1, int(timeout_seconds)),
            "options": f"-c statement_timeout={int(timeout_seconds * 1000)}",
        })
    return make_engine(url, hide_parameters=True)


class ReceiverRuntime:
    """The receiver's per-process state (``app.extensions['vbotflow_receiver']``)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.db_url: str = config["DB_URL"]
        self.db_timeout: float = float(config["DB_TIMEOUT_SECONDS"])
        self.tokens: tuple[str, ...] = tuple(config["WEBHOOK_TOKENS"])
        secret = config.get("SIGNING_SECRET")
        self.signer = Webhook(secret, tolerance_seconds=int(config["SIGNATURE_TOLERANCE_SECONDS"])) if secret else None
        self.spool = Spool(config["SPOOL_DIR"])
        self.retry_seconds = float(config["SPOOL_RETRY_SECONDS"])
        self.body_timeout = float(config.get("BODY_TIMEOUT_SECONDS", 0))
        self.read_deadlines = ReadDeadlines()
        try:
            self.spool.remove_stale_temporaries()  # appends a killed process never finished
        except OSError as err:
            log.warning("could not look for unfinished spool files in %s (%s)", self.spool.directory, err)
        self.metrics = ReceiverMetrics()
        self._engine: Engine | None = None
        self._engine_pid: int | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._drainer: threading.Thread | None = None
        self._drainer_pid: int | None = None
        self._next_spool_look = 0.0

    @property
    def engine(self) -> Engine:
        pid = os.getpid()
        if self._engine is None or self._engine_pid != pid:
            with self._lock:
                if self._engine is None or self._engine_pid != pid:
                    self._engine = receiver_engine(self.db_url, self.db_timeout)
                    self._engine_pid = pid
        return self._engine

    def drain_spool(self) -> DrainResult:
        """Replay the spool into the database now (a no-op if another process is at it)."""
        result = self.spool.drain(lambda delivery: store.land_spooled(self.engine, delivery), store.OUTAGE_ERRORS)
        if result.landed:
            self.metrics.replayed.inc(result.landed)
            log.info("replayed %s spooled deliveries, %s left", result.landed, result.left)
        return result

    def ensure_drainer(self) -> None:
        """Start this process's replay thread once (after a fork, again)."""
        if self.retry_seconds <= 0 or (self._drainer is not None and self._drainer_pid == os.getpid()):
            return
        with self._lock:
            if self._drainer is not None and self._drainer_pid == os.getpid():
                return
            self._drainer = threading.Thread(target=self._drain_loop, name="spool-drainer", daemon=True)
            self._drainer_pid = os.getpid()
            self._drainer.start()

    def wake_drainer(self) -> None:
        self._wake.set()

    def wake_drainer_if_spooled(self) -> None:
        """After a delivery landed: replay the spool now if it holds anything.

        Looked at once a second at most (a directory listing per delivery was a measurable cost), and
        at once after this process spooled; the replay thread also looks on its own schedule.
        """
        now = time.monotonic()
        if now < self._next_spool_look:
            return
        self._next_spool_look = now + SPOOL_LOOK_SECONDS
        if self.spool.has_files():
            self.wake_drainer()

    def spooled_here(self) -> None:
        self._next_spool_look = 0.0  # the first delivery that lands again wakes the replay

    def _drain_loop(self) -> None:
        stuck = False
        while True:
            if stuck:
                # Only deliveries that fail on their own are left: a new delivery must not set off
                # another attempt (and its error lines) at once; the next one comes on schedule.
                time.sleep(self.retry_seconds)
            else:
                self._wake.wait(self.retry_seconds)
            self._wake.clear()
            stuck = False
            try:
                if self.spool.has_files():
                    result = self.drain_spool()
                    stuck = bool(result.failed) and result.error is None and result.left == result.failed
            except Exception:  # noqa: BLE001 - the thread must outlive any one failed attempt
                log_failure(log, "spool replay failed; will try again")
