"""Prometheus text-format counters of the receiver, per process.

Each gunicorn worker counts its own requests: scrape every worker, or sum over them (the
``instance``/``pid`` labels tell them apart). A tiny in-house registry keeps the receiver free of
a metrics dependency and of prometheus_client's multiprocess directory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    inner = ",".join(f'{n}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for n, v in zip(names, values, strict=True))
    return "{" + inner + "}"


class Counter:
    """A monotonically increasing count, optionally split by labels."""

    def __init__(self, name: str, help_text: str, label_names: tuple[str, ...] = ()) -> None:
        self.name, self.help_text, self.label_names = name, help_text, label_names
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *label_values: str, amount: float = 1) -> None:
        with self._lock:
            self._values[label_values] = self._values.get(label_values, 0) + amount

    def value(self, *label_values: str) -> float:
        return self._values.get(label_values, 0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.label_names:
            items = [((), 0)]  # an unlabelled counter exists from the start, at zero
        for values, count in items:
            yield f"{self.name}{_labels(self.label_names, values)} {count:g}"


class Histogram:
    """Request durations in seconds, in cumulative buckets."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.help_text, self.buckets = name, help_text, buckets
        self._counts = [0] * len(buckets)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._sum += seconds
            self._count += 1
            for index, bound in enumerate(self.buckets):
                if seconds <= bound:
                    self._counts[index] += 1
                    break

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            counts, total, count = list(self._counts), self._sum, self._count
        cumulative = 0
        for bound, bucket_count in zip(self.buckets, counts, strict=True):
            cumulative += bucket_count
            yield f'{self.name}_bucket{{le="{bound:g}"}} {cumulative}'
        yield f'{self.name}_bucket{{le="+Inf"}} {count}'
        yield f"{self.name}_sum {total:.6f}"
        yield f"{self.name}_count {count}"


class ReceiverMetrics:
    """Every number the receiver exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.received = Counter("vbotflow_webhook_received_total", "Deliveries received (any outcome).",
                                ("endpoint",))
        self.stored = Counter("vbotflow_webhook_stored_total", "Deliveries stored for the first time.", ("kind",))
        self.duplicates = Counter("vbotflow_webhook_duplicates_total",
                                  "Deliveries already stored (same dedupe key): acknowledged, not stored again.",
                                  ("kind",))
        self.rejected = Counter("vbotflow_webhook_rejected_total",
                                "Deliveries answered 4xx: unauthorized, bad_signature, too_large (not stored), "
                                "invalid_body (stored as dead letter).", ("reason",))
        self.spooled = Counter("vbotflow_webhook_spooled_total",
                               "Deliveries written to the local spool because the database was away.")
        self.replayed = Counter("vbotflow_webhook_spool_replayed_total",
                                "Spooled deliveries replayed into the database by this process.")
        self.spool_failures = Counter("vbotflow_webhook_spool_failures_total",
                                      "Deliveries neither stored nor spooled (answered 503).")
        self.latency = Histogram("vbotflow_webhook_request_seconds",
                                 "Time to authenticate, parse and land (or spool) one delivery.")

    def render(self, spool_depth: int) -> str:
        lines: list[str] = []
        for metric in (self.received, self.stored, self.duplicates, self.rejected, self.spooled, self.replayed,
                       self.spool_failures, self.latency):
            lines.extend(metric.render())
        lines += ["# HELP vbotflow_webhook_spool_depth Deliveries waiting in the spool directory (shared by workers).",
                  "# TYPE vbotflow_webhook_spool_depth gauge", f"vbotflow_webhook_spool_depth {spool_depth}",
                  "# HELP vbotflow_process_id The worker process these per-process counters belong to.",
                  "# TYPE vbotflow_process_id gauge", f"vbotflow_process_id {os.getpid()}"]
        return "\n".join(lines) + "\n"
