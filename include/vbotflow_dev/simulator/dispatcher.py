"""One background thread that runs jobs when they fall due: calls ending, deliveries, their retries.

A single thread keeps the order of due jobs exactly the order they were planned in; a job may ask to
run again later (a delivery retry) by returning the new due time.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Job = Callable[[], float | None]  # returns when to run again (clock time), or None when done


class Dispatcher:
    """Runs jobs in (due time, scheduling order); ``wait_idle`` blocks until nothing is left."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, int, Job]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._running_job = False
        self._generation = 0  # bumped by clear(): a job running across a clear is not re-queued
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="vbot-sim-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def schedule(self, jobs: Iterable[tuple[float, Job]]) -> None:
        """Queue jobs at once, so none runs before all of one campaign's are queued."""
        with self._cond:
            for due, job in jobs:
                heapq.heappush(self._heap, (due, next(self._order), self._generation, job))
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._generation += 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + int(self._running_job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no job is queued or running; False if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._running_job, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > self._clock()):
                    # Capped: a wait must stay a finite number, and far-future jobs are rare.
                    self._cond.wait(None if not self._heap else min(60.0, self._heap[0][0] - self._clock()))
                if self._stopped:
                    return
                _due, _order, generation, job = heapq.heappop(self._heap)
                self._running_job = True
            again = None
            try:
                again = job()
            except Exception:
                log.exception("A simulator job failed; it is dropped")
            with self._cond:
                self._running_job = False
                if again is not None and generation == self._generation and not self._stopped:
                    heapq.heappush(self._heap, (again, next(self._order), generation, job))
                self._cond.notify_all()
