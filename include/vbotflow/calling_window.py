"""The legal calling window: may a campaign be created (and start dialling) now?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from vbotflow.vbot_time import VIETNAM

__all__ = ["VIETNAM", "WindowState", "run_date_in_vietnam", "vietnam_days_in_utc", "window_state"]


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


def run_date_in_vietnam(moment: datetime) -> date:
    """The Vietnam calendar date of an instant (a DAG run's logical date is UTC).

    Always a plain ``date``: Airflow hands tasks pendulum datetimes, whose ``date()`` is pendulum's
    ``Date`` subclass, and sqlite3 refuses to bind that as a query parameter.
    """
    local = moment.astimezone(VIETNAM)
    return date(local.year, local.month, local.day)


def vietnam_days_in_utc(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding the Vietnam calendar days ``date_from``..``date_to`` (end exclusive)."""
    start = datetime.combine(date_from, time(), tzinfo=VIETNAM).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(), tzinfo=VIETNAM).astimezone(UTC)
    return start, end
