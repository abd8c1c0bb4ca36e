"""The receiver's Prometheus metrics, counted for the whole receiver, however many worker processes.

Under gunicorn (``gunicorn_conf``) ``PROMETHEUS_MULTIPROC_DIR`` is set: every worker writes its
counts to files there and a scrape, whichever worker answers it, adds up every worker's files —
those of workers that died included, so counters never seem to go back. Without it (the
development server, tests) each app counts in its own registry.
"""

from __future__ import annotations

import os

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# The classic text format (what generate_latest writes), understood by every Prometheus version.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# One series per counter, not two: the *_created timestamps mean nothing across restarted workers.
prometheus_client.disable_created_metrics()


def multiprocess_dir() -> str | None:
    """Where the workers' counters are shared, when running in multiprocess mode."""
    return os.environ.get(MULTIPROC_ENV) or None


class _SpoolDepth:
    """The spool is one directory for every worker: its depth is read at scrape time, not summed."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def collect(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("vbotflow_webhook_spool_depth",
                                  "Deliveries waiting in the spool directory (shared by workers).", value=self.depth)]


class _ByLabel:
    """A labelled counter's children, kept: ``labels()`` costs a lock and a tuple build per call."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[str, Counter] = {}

    def inc(self, label: str) -> None:
        child = self._children.get(label)
        if child is None:
            # Made on first use, as before: a label never seen writes no series.
            child = self._children[label] = self._counter.labels(label)
        child.inc()


class ReceiverMetrics:
    """Every number the receiver exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.received = Counter("vbotflow_webhook_received_total", "Deliveries received (any outcome).",
                                ["endpoint"], registry=registry)
        self.stored = Counter("vbotflow_webhook_stored_total", "Deliveries stored for the first time.", ["kind"],
                              registry=registry)
        self.duplicates = Counter("vbotflow_webhook_duplicates_total",
                                  "Deliveries already stored (same dedupe key): acknowledged, not stored again.",
                                  ["kind"], registry=registry)
        self.rejected = Counter("vbotflow_webhook_rejected_total",
                                "Deliveries answered 4xx: unauthorized, bad_signature, too_large, bad_framing, "
                                "too_slow (not stored), invalid_body (stored as dead letter).", ["reason"],
                                registry=registry)
        self.spooled = Counter("vbotflow_webhook_spooled_total",
                               "Deliveries written to the local spool because the database was away.",
                               registry=registry)
        self.replayed = Counter("vbotflow_webhook_spool_replayed_total",
                                "Spooled deliveries replayed into the database.", registry=registry)
        self.spool_failures = Counter("vbotflow_webhook_spool_failures_total",
                                      "Deliveries neither stored nor spooled (answered 503).", registry=registry)
        self.latency = Histogram("vbotflow_webhook_request_seconds",
                                 "Time to authenticate, read, parse and land (or spool) one delivery.",
                                 buckets=LATENCY_BUCKETS, registry=registry)
        self.received_by = _ByLabel(self.received)
        self.stored_by = _ByLabel(self.stored)
        self.duplicates_by = _ByLabel(self.duplicates)

    def render(self, spool_depth: int) -> bytes:
        """The Prometheus text of the whole receiver (every worker, in multiprocess mode)."""
        if multiprocess_dir():
            scrape = CollectorRegistry()
            multiprocess.MultiProcessCollector(scrape)
            text = generate_latest(scrape)
        else:
            text = generate_latest(self.registry)
        depth = CollectorRegistry()
        depth.register(_SpoolDepth(spool_depth))
        return text + generate_latest(depth)
