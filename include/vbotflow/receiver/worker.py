"""gunicorn's gthread worker, leaving new connections to its sibling workers once it holds its share.

A gthread worker keeps every connection it accepted, and all of them answer on its one Python
process. When a sender opens its keep-alive connections in a burst, the worker that wakes first
can accept them all before its siblings run: measured with 32 connections on 3 workers, about one
run in three had every connection on one worker, which then landed half as many deliveries a
second, the other two idle. This worker pauses briefly after accepting once it holds as many
connections as it has threads, so its siblings (woken for the same connections) take the next
ones. It delays nothing else: with fewer connections it accepts as gthread does, and a worker
holding its share can serve no faster anyway.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# Long enough for a sibling woken for the same connection to reach its accept() on a busy machine.
ACCEPT_PAUSE_SECONDS = 0.002


class BalancedThreadWorker(ThreadWorker):
    def accept(self, listener: Any) -> None:
        super().accept(listener)
        if self.nr_conns >= self.cfg.threads:
            time.sleep(ACCEPT_PAUSE_SECONDS)
