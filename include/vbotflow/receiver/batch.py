"""Group commit for one receiver process: concurrent deliveries share an INSERT and a commit.

A request hands its delivery to the process's writer thread and waits for the commit, so nothing
is acknowledged before it is durable. The writer takes whatever has queued up while the previous
batch was committing (no waiting for a batch to fill): at low load a batch is one delivery and the
latency is a plain INSERT; under load the database sees a few large commits instead of many small ones.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy.engine import Engine

from vbotflow.receiver import store
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.parse import Parsed

log = logging.getLogger(__name__)

_Item = tuple[Delivery, Parsed, Future]


class BatchWriter:
    """Lands single-row deliveries through ``store.land_many``, from one writer thread per process."""

    def __init__(self, engine: Callable[[], Engine], *, max_batch: int = 100, wait_seconds: float = 30.0) -> None:
        self._engine = engine
        self.max_batch = max_batch
        # How long a request waits for its commit before it spools instead (the delivery may then
        # land twice, in the batch and from the spool: the dedupe key keeps one).
        self.wait_seconds = wait_seconds
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def land(self, delivery: Delivery, parsed: Parsed) -> store.LandResult:
        """Block until ``delivery`` is committed; raise what the database raised (then: spool it)."""
        self._ensure_thread()
        future: Future[store.LandResult] = Future()
        self._queue.put((delivery, parsed, future))
        return future.result(timeout=self.wait_seconds)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # first use, or first use after a fork
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="webhook-batch-writer", daemon=True)
                self._pid = os.getpid()
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            results = store.land_many(self._engine(), [(delivery, parsed) for delivery, parsed, _ in batch])
        except Exception as err:  # noqa: BLE001 - handed to the waiting requests, which spool
            if len(batch) == 1 or isinstance(err, store.OUTAGE_ERRORS):
                for _, _, future in batch:
                    future.set_exception(err)
                return
            # Something in one delivery broke the shared statement: land them one by one, so only it fails.
            log.warning("batch of %s failed (%s); landing one by one", len(batch), type(err).__name__)
            for delivery, parsed, future in batch:
                try:
                    future.set_result(store.land(self._engine(), delivery, parsed))
                except Exception as single_err:  # noqa: BLE001
                    future.set_exception(single_err)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            future.set_result(result)
