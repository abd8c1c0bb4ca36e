"""The dialing plan of one campaign: which attempt happens when, on a limited number of lines.

Pure: computed once at create time from the seeded outcomes, so retries and line contention never
depend on thread timing. Offsets are simulated seconds after the campaign's start.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from vbotflow_dev.simulator.config import Dialing
from vbotflow_dev.simulator.outcomes import Outcome, decide_outcome


@dataclass(frozen=True)
class PlannedAttempt:
    """One call attempt of a campaign, placed in simulated time."""

    contact_index: int
    phone: str
    attempt: int  # 1 for the first call of the contact
    start_offset: float
    outcome: Outcome

    @property
    def end_offset(self) -> float:
        return self.start_offset + self.outcome.line_seconds


def plan_campaign(seed: int, campaign_id: int, phones: Sequence[str], number_calls: Sequence[int],
                  dialing: Dialing, unknown_status_rate: float = 0.0) -> list[PlannedAttempt]:
    """Every attempt of a campaign, ordered by the time it ends (when its result is reported)."""
    # Waiting calls: (ready at, contact index, attempt); contacts are dialed in list order, paced so
    # that a campaign does not start all its lines in the same second.
    waiting = [(index * dialing.dial_interval_seconds, index, 1) for index in range(len(phones))]
    heapq.heapify(waiting)
    free_lines = [0.0] * max(1, dialing.lines)
    planned: list[PlannedAttempt] = []
    while waiting:
        ready_at, index, attempt = heapq.heappop(waiting)
        line_free_at = heapq.heappop(free_lines)
        start = max(ready_at, line_free_at)
        outcome = decide_outcome(seed, campaign_id, phones[index], attempt, dialing, unknown_status_rate)
        call = PlannedAttempt(index, phones[index], attempt, start, outcome)
        planned.append(call)
        heapq.heappush(free_lines, call.end_offset)
        if outcome.is_retried and attempt < number_calls[index]:
            heapq.heappush(waiting, (call.end_offset + dialing.retry_interval_seconds, index, attempt + 1))
    planned.sort(key=lambda c: (c.end_offset, c.contact_index, c.attempt))
    return planned
