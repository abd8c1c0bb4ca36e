"""What the simulator saw and did, in memory: create requests, campaigns, calls made, deliveries.

Thread-safe; read by the ``/_sim/`` inspection endpoints and ``getAll``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vbotflow_dev.simulator.chaos import PlannedDelivery
from vbotflow_dev.simulator.outcomes import ANSWER
from vbotflow_dev.simulator.records import CallRecord, vbot_time

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass
class CampaignState:
    """One campaign created by ``POST /api/campaign/create``."""

    campaign_id: int
    name: str
    vbot_id: str
    group_code: str
    template_id: int
    hotline: str
    created_at: str  # real UTC, ISO 8601
    sim_start: datetime
    payload: Any  # the create body as received (parsed JSON)
    contacts: int
    planned_attempts: int
    delivery_ids: list[int] = field(default_factory=list)


@dataclass
class DeliveryState:
    """One POST to the webhook, with every try."""

    delivery_id: int
    campaign_id: int
    url: str
    plan: PlannedDelivery
    tries: list[dict[str, Any]] = field(default_factory=list)
    state: str = PENDING

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {"delivery_id": self.delivery_id, "campaign_id": self.campaign_id, "kind": plan.kind,
                "state": self.state, "tries": list(self.tries), "record_ids": list(plan.record_ids),
                "index": plan.index, "duplicate": plan.duplicate, "out_of_order": plan.out_of_order,
                "malformed": plan.malformed, "lowercase_dispositions": plan.lowercase_dispositions,
                "body": plan.body.decode("utf-8", errors="replace")}


class SimState:
    """The simulator's memory."""

    def __init__(self, first_campaign_id: int = 1) -> None:
        self._lock = threading.RLock()
        self._first_campaign_id = first_campaign_id
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._campaign_ids = itertools.count(self._first_campaign_id)
            self._record_ids = itertools.count(1)
            self._delivery_ids = itertools.count(1)
            self._create_numbers = itertools.count(1)
            self.creates: list[dict[str, Any]] = []
            self.campaigns: dict[int, CampaignState] = {}
            self.calls: list[CallRecord] = []
            self.deliveries: dict[int, DeliveryState] = {}

    # -- writes -----------------------------------------------------------------------------------

    def next_create_number(self) -> int:
        with self._lock:
            return next(self._create_numbers)

    def note_create(self, number: int, *, fault: str | None, http_status: int, answer: dict[str, Any],
                    body: Any) -> None:
        with self._lock:
            self.creates.append({"request_number": number, "received_at": _now(), "fault": fault,
                                 "http_status": http_status, "answer": answer, "body": body})
            self.creates.sort(key=lambda c: c["request_number"])

    def new_campaign_id(self) -> int:
        with self._lock:
            return next(self._campaign_ids)

    def new_record_ids(self, count: int) -> list[int]:
        with self._lock:
            return [next(self._record_ids) for _ in range(count)]

    def add_campaign(self, campaign: CampaignState, deliveries: list[tuple[str, PlannedDelivery]]) -> list[int]:
        """Register a campaign and its planned deliveries (url, plan); returns the delivery ids."""
        with self._lock:
            self.campaigns[campaign.campaign_id] = campaign
            for url, plan in deliveries:
                delivery_id = next(self._delivery_ids)
                self.deliveries[delivery_id] = DeliveryState(delivery_id, campaign.campaign_id, url, plan)
                campaign.delivery_ids.append(delivery_id)
            return list(campaign.delivery_ids)

    def add_call(self, record: CallRecord) -> None:
        with self._lock:
            self.calls.append(record)

    def add_try(self, delivery_id: int, result: dict[str, Any], final_state: str | None) -> int:
        """Record one try; ``final_state`` DELIVERED or FAILED ends the delivery. Returns the number of tries."""
        with self._lock:
            delivery = self.deliveries[delivery_id]
            delivery.tries.append({"at": _now(), **result})
            if final_state:
                delivery.state = final_state
            return len(delivery.tries)

    # -- reads ------------------------------------------------------------------------------------

    def create_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.creates)

    def campaign_list(self) -> list[CampaignState]:
        with self._lock:
            return list(self.campaigns.values())

    def campaign(self, campaign_id: int) -> CampaignState | None:
        with self._lock:
            return self.campaigns.get(campaign_id)

    def call_list(self) -> list[CallRecord]:
        with self._lock:
            return list(self.calls)

    def delivery_list(self) -> list[DeliveryState]:
        with self._lock:
            return list(self.deliveries.values())

    def delivery(self, delivery_id: int) -> DeliveryState | None:
        with self._lock:
            return self.deliveries.get(delivery_id)

    def campaign_summary(self, campaign: CampaignState) -> dict[str, Any]:
        """The simulator's own totals of a campaign: what a reconciliation must agree with."""
        with self._lock:
            calls = [c for c in self.calls if c.campaign_id == campaign.campaign_id]
            deliveries = [self.deliveries[d] for d in campaign.delivery_ids]
        by_status: dict[str, int] = {}
        for call in calls:
            key = str(call.call.outcome.status)
            by_status[key] = by_status.get(key, 0) + 1
        states = [d.state for d in deliveries]
        done = len(calls) == campaign.planned_attempts and PENDING not in states
        return {
            "campaign_id": campaign.campaign_id, "name": campaign.name, "template_id": campaign.template_id,
            "group_code": campaign.group_code, "created_at": campaign.created_at,
            "sim_start": vbot_time(campaign.sim_start), "contacts": campaign.contacts,
            "planned_attempts": campaign.planned_attempts, "attempts": len(calls),
            "answered": sum(1 for c in calls if c.call.outcome.status == ANSWER),
            "contacts_reached": len({c.call.contact_index for c in calls if c.call.outcome.status == ANSWER}),
            "total_time_call": sum(c.call.outcome.time_call for c in calls),
            "total_postage": sum(c.call.outcome.postage for c in calls),
            "total_service_charge": sum(c.call.outcome.service_charge for c in calls),
            "by_status": by_status,
            "deliveries": {"planned": len(states), "delivered": states.count(DELIVERED),
                           "failed": states.count(FAILED), "pending": states.count(PENDING)},
            "done": done,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
