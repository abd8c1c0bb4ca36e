"""The console's pieces that need no server: registration, links, URLs, charts and how values read."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import entry_points

import pytest

from vbot_provider.console import paths
from vbot_provider.console.chart import mix_svg, trend_svg
from vbot_provider.console.present import format_duration, format_rate, json_ready, vietnam_time


def test_the_plugin_is_registered_by_the_package_entry_point() -> None:
    from airflow.plugins_manager import AirflowPlugin

    [entry] = [e for e in entry_points(group="airflow.plugins") if e.name == "vbot_console"]
    plugin = entry.load()
    assert issubclass(plugin, AirflowPlugin) and plugin.name == "vbot_console"
    [view] = plugin().external_views
    assert (view["url_route"], view["href"], view["destination"]) == ("vbot-console", "/vbot-console/campaigns", "nav")
    assert [link.name for link in plugin.global_operator_extra_links] == [
        "Campaign console", "Outcome figures", "Outcome report"]


def test_loading_the_plugin_builds_no_web_app() -> None:
    # Schedulers and workers load plugins too: the FastAPI app and Airflow's API security stay out of them.
    code = ("import sys, vbot_provider.console.plugin as p; p.VBotConsolePlugin()\n"
            "print(sorted(m for m in sys.modules if m.startswith(('vbot_provider.console.app', "
            "'airflow.api_fastapi.core_api'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("dag_id", "task_id"), [
    ("vbot_campaign__payment_reminder", "build_list"),
    ("vbot_campaign__payment_reminder", "calling_window"),
    ("some_other_dag", "summary"),
    ("vbot_reconcile", "create_campaign"),
])
def test_the_campaign_link_is_empty_on_other_tasks(dag_id: str, task_id: str) -> None:
    from airflow.models.taskinstancekey import TaskInstanceKey

    from vbot_provider.console.links import CampaignConsoleLink, OutcomeFiguresLink, ReportLink

    key = TaskInstanceKey(dag_id=dag_id, task_id=task_id, run_id="manual__x", try_number=1, map_index=-1)
    assert CampaignConsoleLink().get_link(None, ti_key=key) == ""
    assert OutcomeFiguresLink().get_link(None, ti_key=key) == ""
    assert ReportLink().get_link(None, ti_key=key) == ""


def test_urls_into_the_console_and_airflow() -> None:
    assert paths.console_url("campaigns", "", config="payment_reminder", date="2026-11-26", state=None) == (
        "/vbot-console/campaigns?config=payment_reminder&date=2026-11-26")
    assert paths.console_url("outcomes", "/airflow") == "/airflow/vbot-console/outcomes"
    run_id = "manual__2026-11-26T01:30:00+00:00"
    assert paths.task_url("", "vbot_campaign__x", run_id, "create_campaign", 2) == (
        "/dags/vbot_campaign__x/runs/manual__2026-11-26T01%3A30%3A00%2B00%3A00/tasks/create_campaign/mapped/2")
    assert paths.task_url("", "d", "r/1", "t") == "/dags/d/runs/r%2F1/tasks/t"


def _days(n: int, **values: object) -> list[dict]:
    end = date(2026, 11, 26)
    return [{"day": end - timedelta(days=n - 1 - i), "contacts": 0, "answered": 0, "answer_rate": None,
             "total_cost": Decimal(0), **values} for i in range(n)]


def test_the_trend_chart_draws_every_day_and_labels_a_round_axis() -> None:
    days = _days(30)
    days[-1].update(contacts=5, answered=2, answer_rate=Decimal("0.4"))
    days[-2].update(contacts=1, answered=1, answer_rate=Decimal("1"))
    svg = str(trend_svg(days))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>")
    assert svg.count("<title>") == 60  # contacts and answered, each day
    assert "<title>2026-11-26: 5 contacts, 2 answered (40,0 %)</title>" in svg
    labels = re.findall(r'text-anchor="end" font-size="11">([^<]+)<', svg)
    assert labels == ["0", "2", "4", "6", "8"]  # 5 contacts → an axis to 8 in quarters
    assert svg.count("<circle") == 2 and "<polyline" in svg  # the rate, on the days that had calls
    assert re.findall(r'text-anchor="middle" font-size="11">([^<]+)<', svg)[-1] == "26/11"


def test_an_empty_trend_still_draws_an_axis() -> None:
    svg = str(trend_svg(_days(30)))
    assert "<polyline" not in svg and "<circle" not in svg
    assert re.findall(r'text-anchor="end" font-size="11">([^<]+)<', svg) == ["0", "1", "2", "3", "4"]


def test_the_mix_bar_splits_its_width_by_outcome() -> None:
    svg = str(mix_svg({"answered": 1, "not_reached": 1, "bad_number": 2, "missing": 0}, width=200))
    widths = [float(w) for w in re.findall(r'width="([0-9.]+)" height', svg)[1:]]
    assert widths == [50.0, 50.0, 100.0]
    assert "<title>bad_number: 2</title>" in svg and "missing" not in svg
    assert "<rect" not in str(mix_svg({"answered": 0}))


@pytest.mark.parametrize(("rate", "text"), [(None, "–"), (Decimal("0.4231"), "42,3 %"), (Decimal("1"), "100,0 %")])
def test_format_rate(rate: Decimal | None, text: str) -> None:
    assert format_rate(rate) == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (7, "7 s"), (65, "1 min 05 s"), (3725, "1 h 02 min 05 s"),
                                               (Decimal("47.50"), "48 s"), (None, "0 s")])
def test_format_duration(seconds: object, text: str) -> None:
    assert format_duration(seconds) == text


def test_times_read_in_vietnam_and_travel_as_utc() -> None:
    naive_utc = datetime(2026, 11, 26, 1, 30)  # what SQLite hands back
    assert vietnam_time(naive_utc) == "2026-11-26 08:30:00"
    assert vietnam_time(datetime(2026, 11, 26, 1, 30, tzinfo=UTC)) == "2026-11-26 08:30:00"
    assert vietnam_time(None) == ""
    assert json_ready({"at": naive_utc, "day": date(2026, 11, 26), "cost": Decimal("1.50"), "n": [1]}) == {
        "at": "2026-11-26T01:30:00+00:00", "day": "2026-11-26", "cost": "1.50", "n": [1]}
