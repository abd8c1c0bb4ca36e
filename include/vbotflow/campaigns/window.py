"""The legal calling window: may a campaign be created (and start dialling) now?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from vbotflow.vbot.timestamps import VIETNAM


@dataclass(frozen=True)
class WindowState:
    """``open`` (create now), ``wait`` (until ``opens_at``) or ``closed`` (the day's window is over)."""

    kind: str
    opens_at: datetime
    closes_at: datetime
    message: str


def window_state(now: datetime, run_date: date, start: time, end: time) -> WindowState:
    """Where ``now`` falls against the window of ``run_date`` (times are Vietnam time)."""
    opens_at = datetime.combine(run_date, start, tzinfo=VIETNAM)
    closes_at = datetime.combine(run_date, end, tzinfo=VIETNAM)
    span = f"{start:%H:%M}–{end:%H:%M} Vietnam time on {run_date.isoformat()}"
    if now < opens_at:
        return WindowState("wait", opens_at, closes_at, f"waiting for the calling window {span}")
    if now >= closes_at:
        return WindowState("closed", opens_at, closes_at,
                           f"the calling window {span} has passed (now {now.astimezone(VIETNAM):%Y-%m-%d %H:%M}); "
                           "VBot dials as soon as a campaign is created, so nothing was created. Trigger the "
                           "DAG again with a run_date of a day whose window is still ahead")
    return WindowState("open", opens_at, closes_at, f"inside the calling window {span}")
