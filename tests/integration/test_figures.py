"""The outcome figures of the console: totals, the mix per campaign and day, a 30-day trend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.console_data import APPT, DAY, DAY_BEFORE, DAY_TOTALS, PAY, seed
from vbotflow.reconcile.figures import OUTCOMES, daily_trend, latest_report_date, outcome_mix, totals


def test_totals_of_a_day_add_up_from_the_outcomes(engine) -> None:
    seed(engine)
    figures = totals(engine, DAY, DAY)
    assert {k: figures[k] for k in DAY_TOTALS} == DAY_TOTALS
    assert figures["avg_talk_seconds"] == Decimal("47.50")
    assert totals(engine, DAY, DAY, {APPT})["total_cost"] == Decimal("1234.50")
    assert totals(engine, DAY_BEFORE, DAY)["answered"] == 3


def test_totals_of_a_day_without_figures_are_zero_not_missing(engine) -> None:
    seed(engine)
    empty = totals(engine, DAY + timedelta(days=5), DAY + timedelta(days=5))
    assert (empty["contacts"], empty["answer_rate"], empty["avg_talk_seconds"], empty["total_cost"]) == (
        0, None, None, Decimal(0))


def test_outcome_mix_per_campaign_and_day(engine) -> None:
    seed(engine)
    mix = outcome_mix(engine, DAY_BEFORE, DAY)
    assert [(m["run_date"], m["config_name"], m["vbot_campaign_id"]) for m in mix] == [
        (DAY, APPT, 502), (DAY, PAY, 501), (DAY_BEFORE, PAY, 400)]
    pay = mix[1]
    assert {k: v for k, v in pay["outcomes"].items() if v} == {"answered": 1, "not_reached": 1, "bad_number": 1}
    assert set(pay["outcomes"]) == set(OUTCOMES)
    assert (pay["contacts"], pay["called"], pay["answer_rate"], pay["talk_seconds"], pay["total_cost"]) == (
        3, 3, Decimal("0.3333"), 65, Decimal("2950.00"))
    assert mix[0]["outcomes"]["missing"] == 1 and mix[0]["called"] == 1


def test_the_trend_has_one_row_per_day_zeros_where_nothing_ran(engine) -> None:
    seed(engine)
    trend = daily_trend(engine, DAY, days=30)
    assert len(trend) == 30
    assert (trend[0]["day"], trend[-1]["day"]) == (DAY - timedelta(days=29), DAY)
    assert (trend[-1]["contacts"], trend[-1]["answered"], trend[-1]["total_cost"]) == (5, 2, Decimal("4184.50"))
    assert (trend[-2]["contacts"], trend[-2]["answered"]) == (1, 1)
    assert all(row["contacts"] == 0 and row["answer_rate"] is None for row in trend[:-2])
    assert [r["contacts"] for r in daily_trend(engine, DAY, days=2, config_names={APPT})] == [0, 2]
    assert latest_report_date(engine) == DAY
    assert latest_report_date(engine, {"nothing"}) is None
