"""The days a reconciliation run covers come from the run: params, triggering asset events, its interval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from vbot_provider.runs import reconcile_range_of_run, triggering_run_dates
from vbotflow.reconcile.run_range import range_label, reconcile_range

NOON_UTC = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)       # 12:00 in Vietnam, the 26th
LATE_UTC = datetime(2026, 11, 26, 18, 30, tzinfo=UTC)     # 01:30 in Vietnam, already the 27th


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"interval_start": NOON_UTC, "interval_end": NOON_UTC}, (date(2026, 11, 25), date(2026, 11, 26))),
    ({"interval_start": LATE_UTC, "interval_end": LATE_UTC}, (date(2026, 11, 26), date(2026, 11, 27))),
    ({"interval_start": NOON_UTC, "interval_end": LATE_UTC}, (date(2026, 11, 25), date(2026, 11, 27))),
    ({"interval_start": NOON_UTC, "interval_end": NOON_UTC, "asset_run_dates": ["2026-11-22", "2026-11-20"]},
     (date(2026, 11, 20), date(2026, 11, 22))),
    ({"interval_start": NOON_UTC, "interval_end": NOON_UTC, "date_from": "2026-11-01"},
     (date(2026, 11, 1), date(2026, 11, 26))),
    ({"interval_start": NOON_UTC, "interval_end": NOON_UTC, "date_from": "2026-11-01", "date_to": "2026-11-02",
      "asset_run_dates": ["2026-11-20"]}, (date(2026, 11, 1), date(2026, 11, 2))),
])
def test_the_range_of_a_run(kwargs, expected) -> None:
    assert reconcile_range(**kwargs) == expected


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"date_from": "2026-11-27", "date_to": "2026-11-26"}, "date_from 2026-11-27 is after date_to 2026-11-26"),
    ({"date_from": "26/11/2026"}, "date_from '26/11/2026' is not a date"),
    ({"asset_run_dates": ["soon"]}, "asset event run_date 'soon' is not a date"),
])
def test_a_range_that_cannot_be_is_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        reconcile_range(interval_start=NOON_UTC, interval_end=NOON_UTC, **kwargs)


def test_the_run_dates_of_the_triggering_asset_events_decide() -> None:
    events = {"vbotflow_campaigns_created": [SimpleNamespace(extra={"config": "a", "run_date": "2026-11-24"}),
                                             SimpleNamespace(extra={"config": "b", "run_date": "2026-11-25"}),
                                             SimpleNamespace(extra={})]}
    context = {"triggering_asset_events": events, "params": {}, "logical_date": None,
               "dag_run": SimpleNamespace(run_after=LATE_UTC), "data_interval_start": None, "data_interval_end": None}
    assert triggering_run_dates(context) == ["2026-11-24", "2026-11-25"]
    assert reconcile_range_of_run(context) == (date(2026, 11, 24), date(2026, 11, 25))
    # Without events: the day the run was due, and the day before.
    context["triggering_asset_events"] = {}
    assert reconcile_range_of_run(context) == (date(2026, 11, 26), date(2026, 11, 27))


def test_range_labels_name_the_report_folder() -> None:
    assert range_label(date(2026, 11, 26), date(2026, 11, 26)) == "2026-11-26"
    assert range_label(date(2026, 11, 25), date(2026, 11, 26)) == "2026-11-25_2026-11-26"
