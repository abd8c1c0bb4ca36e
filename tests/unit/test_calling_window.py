"""The run date of a DAG run, in the Vietnam calendar."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pendulum
import pytest

from vbotflow.calling_window import run_date_in_vietnam


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
