"""The run date of a DAG run in the Vietnam calendar, and the legal calling window."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time

import pendulum
import pytest

from vbotflow.campaigns.window import window_state
from vbotflow.vbot.timestamps import VIETNAM, run_date_in_vietnam


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 11, 26, 16, 59, tzinfo=UTC), date(2026, 11, 26)),
    (datetime(2026, 11, 26, 17, 0, tzinfo=UTC), date(2026, 11, 27)),  # midnight in Vietnam (UTC+7)
    (pendulum.datetime(2026, 11, 26, 1, 30, tz="UTC"), date(2026, 11, 26)),
])
def test_run_date_is_the_vietnam_calendar_day(moment: datetime, expected: date) -> None:
    assert run_date_in_vietnam(moment) == expected


def test_a_pendulum_logical_date_gives_a_date_sqlite_can_bind() -> None:
    # Scheduled and API-triggered runs hand tasks pendulum datetimes; the CRM query binds the result.
    run_date = run_date_in_vietnam(pendulum.datetime(2026, 11, 26, 1, 30, tz="UTC"))
    assert type(run_date) is date
    with sqlite3.connect(":memory:") as conn:
        assert conn.execute("SELECT ?", (run_date,)).fetchone() == ("2026-11-26",)


@pytest.mark.parametrize(
    ("now", "kind", "opens"),
    [
        (datetime(2026, 11, 26, 7, 59, 59, tzinfo=VIETNAM), "wait", datetime(2026, 11, 26, 8, 0, tzinfo=VIETNAM)),
        (datetime(2026, 11, 26, 8, 0, tzinfo=VIETNAM), "open", None),
        (datetime(2026, 11, 26, 16, 59, 59, tzinfo=VIETNAM), "open", None),
        (datetime(2026, 11, 26, 17, 0, tzinfo=VIETNAM), "closed", None),
        (datetime(2026, 11, 26, 3, 0, tzinfo=UTC), "open", None),  # 10:00 in Vietnam
        (datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "wait", datetime(2026, 11, 26, 8, 0, tzinfo=VIETNAM)),
        (datetime(2026, 11, 27, 9, 0, tzinfo=VIETNAM), "closed", None),
    ],
)
def test_window_state_of_the_legal_window(now: datetime, kind: str, opens: datetime | None) -> None:
    state = window_state(now, date(2026, 11, 26), time(8), time(17))
    assert state.kind == kind
    if opens:
        assert state.opens_at == opens
    if kind == "closed":
        assert "has passed" in state.message and "nothing was created" in state.message
