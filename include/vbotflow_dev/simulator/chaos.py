"""The deliveries of one campaign: one per attempt (2b), optional call history batches (2a), and
what an imperfect sender does to them (duplicates, reordering, malformed bodies, lower-case dispositions).

Pure and seeded per campaign and delivery, so a seed gives the same deliveries in the same order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vbotflow_dev.simulator.config import Chaos
from vbotflow_dev.simulator.records import CallRecord, history_body

AUTOCALL = "autocall"
CALL_HISTORY = "callhistory"


@dataclass(frozen=True)
class PlannedDelivery:
    """A POST to make, ``due_offset`` simulated seconds after the campaign's start."""

    kind: str  # AUTOCALL or CALL_HISTORY
    due_offset: float
    body: bytes
    record_ids: tuple[int, ...]
    malformed: bool = False
    lowercase_dispositions: int = 0
    out_of_order: bool = False
    duplicate: bool = False  # a second copy of an earlier delivery (same ``index``, same body)
    index: int = 0  # position in the campaign's deliveries before any chaos


def plan_deliveries(seed: int, campaign_id: int, records: Sequence[CallRecord], end_offsets: Sequence[float],
                    chaos: Chaos, history_batch_size: int = 0) -> list[PlannedDelivery]:
    """Deliveries in the order they are sent; ``records`` and ``end_offsets`` in the order calls end."""
    plain = [PlannedDelivery(AUTOCALL, end, _json(r.autocall_body()), (r.record_id,))
             for r, end in zip(records, end_offsets, strict=True)]
    if history_batch_size > 0:
        plain += _history_batches(seed, campaign_id, records, end_offsets, chaos, history_batch_size)
        plain.sort(key=lambda d: d.due_offset)  # stable: an attempt's 2b goes before the batch it ends
    shaped, held, doubled = [], [], set()
    for n, delivery in enumerate(plain):
        rng = random.Random(f"{seed}:{campaign_id}:delivery:{n}")
        is_malformed, is_held, is_doubled = (rng.random() < rate for rate in (
            chaos.malformed_rate, chaos.out_of_order_rate, chaos.duplicate_rate))
        shaped.append(_malformed(replace(delivery, index=n), rng) if is_malformed else replace(delivery, index=n))
        held.append(is_held)
        if is_doubled:
            doubled.add(n)
    return _duplicate(_hold_back(shaped, held), doubled)


def _history_batches(seed: int, campaign_id: int, records: Sequence[CallRecord], end_offsets: Sequence[float],
                     chaos: Chaos, size: int) -> list[PlannedDelivery]:
    batches = []
    for start in range(0, len(records), size):
        chunk = records[start:start + size]
        items, lowered = [], 0
        for record in chunk:
            item = record.history_record()
            rng = random.Random(f"{seed}:{campaign_id}:history:{record.record_id}")
            if rng.random() < chaos.lowercase_disposition_rate:
                item["disposition"] = item["disposition"].lower()
                lowered += 1
            items.append(item)
        batches.append(PlannedDelivery(CALL_HISTORY, end_offsets[start + len(chunk) - 1], _json(history_body(items)),
                                       tuple(r.record_id for r in chunk), lowercase_dispositions=lowered))
    return batches


def _malformed(delivery: PlannedDelivery, rng: random.Random) -> PlannedDelivery:
    # Cut inside the body: what a sender crashing mid-write or a broken proxy produces.
    cut = rng.randint(1, max(1, len(delivery.body) - 2))
    return replace(delivery, body=delivery.body[:cut], malformed=True)


def _hold_back(deliveries: list[PlannedDelivery], held: list[bool]) -> list[PlannedDelivery]:
    """Send each held delivery right after the next one that is not held (it arrives late)."""
    out: list[PlannedDelivery] = []
    waiting: list[PlannedDelivery] = []
    for delivery, is_held in zip(deliveries, held, strict=True):
        if is_held:
            waiting.append(delivery)
            continue
        out.append(delivery)
        out.extend(replace(w, due_offset=delivery.due_offset, out_of_order=True) for w in waiting)
        waiting = []
    return out + waiting  # nothing came after these: they stay in order


def _duplicate(deliveries: list[PlannedDelivery], doubled: set[int]) -> list[PlannedDelivery]:
    """Send a chosen delivery a second time, after the delivery that follows it."""
    out: list[PlannedDelivery] = []
    copies: list[PlannedDelivery] = []  # due after the next delivery
    for delivery in deliveries:
        out.append(delivery)
        out.extend(replace(c, due_offset=max(c.due_offset, delivery.due_offset)) for c in copies)
        copies = [replace(delivery, duplicate=True)] if delivery.index in doubled else []
    return out + copies


def _json(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
