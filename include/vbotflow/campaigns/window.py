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
                           "VBot dials as soon as a campaign is created, so nothing was created. The next "
                           "scheduled run sends its own day's list; vbot_preview shows any day's list without "
                           "sending")
    return WindowState("open", opens_at, closes_at, f"inside the calling window {span}")


def future_run_date_problem(run_date: date, today: date) -> str | None:
    """Why a campaign run for ``run_date`` may not start ``today`` (Vietnam days), or None.

    A campaign is built and sent on its own day. A run for a later day would hold the DAG's only
    active run until that day's window opens, and build the list from today's CRM data.
    """
    if run_date <= today:
        return None
    return (f"run_date {run_date.isoformat()} is after today ({today.isoformat()}, Vietnam time): a campaign is "
            "built and sent on its own day, by that day's scheduled run (or trigger this DAG on that day). "
            f"To see that day's list now without sending anything, trigger vbot_preview with run_date "
            f"{run_date.isoformat()}. Nothing was built or sent.")
