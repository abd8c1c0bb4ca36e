"""Which fault, if any, a create request meets; seeded by the request's number, not by timing."""

from __future__ import annotations

import random

from vbotflow_dev.simulator.config import Faults

HTTP_500 = "http_500"
ERROR_400 = "error_400"
HANG = "hang"


def decide_fault(seed: int, request_number: int, faults: Faults) -> str | None:
    """HTTP_500, ERROR_400, HANG or None for the ``request_number``-th create request (from 1)."""
    draw = random.Random(f"{seed}:create:{request_number}").random()
    for fault, rate in ((HTTP_500, faults.http_500_rate), (ERROR_400, faults.error_400_rate), (HANG, faults.hang_rate)):
        if draw < rate:
            return fault
        draw -= rate
    return None
