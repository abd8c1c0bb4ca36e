"""The outcome of one call attempt: status, duration, cost, key presses.

Pure and seeded per attempt: the same seed, campaign, phone and attempt number always give the same
outcome, whatever the thread timing or the order in which contacts are dialed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from vbotflow_dev.simulator.carriers import carrier_of
from vbotflow_dev.simulator.config import Dialing

ANSWER, NO_ANSWER, BUSY, CANCEL = 200, 2, 3, 4
UNKNOWN_PHONE, NO_HOTLINE, LOW_BALANCE, PACKAGE_EXPIRED, CARRIER_UNSUPPORTED = 101, 102, 103, 105, 106
SYSTEM_ERRORS = frozenset({100, -100, 104})
# Codes no VBot page lists, for the unknown-status chaos: receivers must keep them, not drop them.
UNLISTED_STATUSES = (107, 110, 300, 999)

# Statuses after which VBot calls the contact again while its numberCall allows.
RETRIED_STATUSES = frozenset({NO_ANSWER, BUSY, CANCEL}) | SYSTEM_ERRORS

_ACCOUNT_STATUS = {"low_balance": LOW_BALANCE, "expired": PACKAGE_EXPIRED}


@dataclass(frozen=True)
class Outcome:
    """One attempt: what the auto-call history reports, and how long it held a line."""

    status: int
    time_call: int  # seconds of conversation; 0 unless answered
    ring_seconds: int  # dialing and ringing before the answer or the give-up
    postage: float  # VND
    service_charge: float  # VND
    action_log: str

    @property
    def line_seconds(self) -> int:
        return self.ring_seconds + self.time_call

    @property
    def is_retried(self) -> bool:
        return self.status in RETRIED_STATUSES


def attempt_rng(seed: int, campaign_id: int, phone: str, attempt: int, stream: str = "") -> random.Random:
    """The random source of one attempt; ``stream`` separates independent draws (chaos) from the outcome's."""
    suffix = f":{stream}" if stream else ""
    return random.Random(f"{seed}:{campaign_id}:{phone}:{attempt}{suffix}")


def decide_outcome(seed: int, campaign_id: int, phone: str, attempt: int, dialing: Dialing,
                   unknown_status_rate: float = 0.0) -> Outcome:
    """What happens when VBot dials ``phone`` for the ``attempt``-th time in a campaign."""
    rng = attempt_rng(seed, campaign_id, phone, attempt)
    carrier = carrier_of(phone)
    if carrier is None:
        return _failed(UNKNOWN_PHONE, rng)
    if dialing.account_status in _ACCOUNT_STATUS:
        return _failed(_ACCOUNT_STATUS[dialing.account_status], rng)
    if carrier in dialing.unsupported_carriers:
        return _failed(CARRIER_UNSUPPORTED, rng)
    if carrier in dialing.no_hotline_carriers:
        return _failed(NO_HOTLINE, rng)
    if unknown_status_rate and attempt_rng(seed, campaign_id, phone, attempt, "unknown-status").random() < (
            unknown_status_rate):
        return _failed(rng.choice(UNLISTED_STATUSES), rng)
    codes = list(dialing.outcome_weights)
    status = rng.choices(codes, weights=[dialing.outcome_weights[c] for c in codes])[0]
    if status == ANSWER:
        return _answered(rng, dialing)
    ring = {NO_ANSWER: rng.randint(40, 60), BUSY: rng.randint(2, 6), CANCEL: rng.randint(8, 30)}.get(
        status, rng.randint(1, 3))
    return Outcome(status, 0, ring, 0.0, 0.0, "")


def _failed(status: int, rng: random.Random) -> Outcome:
    return Outcome(status, 0, rng.randint(1, 3), 0.0, 0.0, "")


def _answered(rng: random.Random, dialing: Dialing) -> Outcome:
    ring = rng.randint(5, 20)
    seconds = round(rng.triangular(8, 150, 40))
    postage = math.ceil(seconds / dialing.block_seconds) * dialing.postage_per_block
    service_charge = math.ceil(seconds / 60) * dialing.service_charge_per_minute
    keys = rng.choice(["", "1", "2", "1,1", "9", "0"])
    steps = ["play:greeting"] + [f"press:{k}" for k in keys.split(",") if k]
    steps.append(rng.choice(["hangup:callee", "hangup:bot"]))
    return Outcome(ANSWER, seconds, ring, float(postage), float(service_charge), ";".join(steps))
