"""The campaign console in a real browser, inside the Airflow UI of `make up`, after a real demo day.

The module's stack has the simulator's hang fault on (``--hang-rate 0.5``): of the day's three
payment-reminder chunks, the creates that hang leave their runs ambiguous (VBot made the campaign;
the answer never came). A person then logs in, opens the console, sees the day, resolves one run
with the campaign id VBot really gave it, and sees the audit row. The extra links of the same runs
are checked through the REST API. Tests run in file order and share the day.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests

from tests.browser.harness import console_frame
from tests.stack import Stack, all_day_configs
from vbotflow.campaigns import outbox
from vbotflow.vbot.timestamps import VIETNAM

pytestmark = pytest.mark.slow

PAY_DAG = "vbot_campaign__payment_reminder"
CHUNK = 25  # about 60 phones in the 300-customer demo CRM: three chunks, three creates
# Set to a path to keep a picture of the console for the README (docs/console.png).
SCREENSHOT = os.environ.get("VBOTFLOW_CONSOLE_SCREENSHOT")


def stack_env(conf_dir: Path) -> dict[str, str]:
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        # Seed 1: the 1st and 3rd create requests hang, the 2nd is answered.
        "VBOTFLOW_SIMULATOR_ARGS": "--hang-rate 0.5 --hang-seconds 20",
        "VBOTFLOW_CAMPAIGNS_DIR": str(all_day_configs(conf_dir / "campaigns", max_phones_per_campaign=CHUNK)),
    }


@pytest.fixture(scope="module")
def day(browser_stack: Stack) -> dict[str, Any]:
    """A demo day: the payment reminders sent (some ambiguous), the simulator's calls landed, reconciled."""
    stack = browser_stack
    # Creates that hang must time out on our side well before the simulator answers them.
    conn = stack.api("GET", "connections/vbot_default")
    extra = {**json.loads(conn["extra"] or "{}"), "timeout_seconds": 5}
    stack.api("PATCH", "connections/vbot_default", params={"update_mask": "extra"},
              json={"connection_id": "vbot_default", "conn_type": "vbot", "extra": json.dumps(extra)})
    today = datetime.now(VIETNAM).date().isoformat()
    run_id, state = stack.run_dag(PAY_DAG, {})
    tasks = stack.task_states(PAY_DAG, run_id)
    creates = sorted(state for task, state in tasks.items() if task.startswith("create_campaign["))
    assert state == "failed" and "failed" in creates, f"{tasks}\n{stack.log_tails()}"  # the hung creates fail
    assert requests.get(f"{stack.simulator}/_sim/idle", params={"wait": 120}, timeout=130).json()["idle"]
    reconcile_id, _ = stack.run_dag("vbot_reconcile", {"date_from": today, "date_to": today, "settle_seconds": 0})
    reconciled = stack.task_states("vbot_reconcile", reconcile_id)
    assert reconciled["report"] == "success", f"{reconciled}\n{stack.log_tails()}"
    return {"date": today, "run_id": run_id, "tasks": tasks, "reconcile_id": reconcile_id}


def test_the_console_shows_the_days_campaigns(driver: Any, browser_stack: Stack, day: dict, login: Any) -> None:
    from selenium.webdriver.common.by import By

    login(driver, browser_stack, "admin")
    assert console_frame(driver, browser_stack.airflow) == f"{browser_stack.airflow}/vbot-console/campaigns"
    group = driver.find_element(By.CSS_SELECTOR, "section.group[data-config=payment_reminder]")
    assert group.find_element(By.TAG_NAME, "h2").text == f"{day['date']} · payment_reminder"
    rows = group.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("data-run-key") for r in rows] == [
        f"payment_reminder/{day['date']}/{n:03d}" for n in (1, 2, 3)]
    states = [r.get_attribute("data-state") for r in rows]
    assert "ambiguous" in states, states
    # Every run links to the DAG run and the mapped task instance that sent it.
    for row in rows:
        links = {a.text: a.get_attribute("href") for a in row.find_elements(By.CSS_SELECTOR, "a.airflow")}
        assert links["DAG run"] == f"{browser_stack.airflow}/dags/{PAY_DAG}/runs/{quote(day['run_id'], safe='')}"
        assert links["task"].startswith(f"{links['DAG run']}/tasks/create_campaign/mapped/")
    if SCREENSHOT:
        driver.switch_to.default_content()
        driver.save_screenshot(SCREENSHOT)


def test_resolving_an_ambiguous_run_shows_its_audit_row(driver: Any, browser_stack: Stack, day: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    console_frame(driver, browser_stack.airflow)
    driver.find_element(By.LINK_TEXT, "Ambiguous runs").click()
    card = WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "article.run:not(.resolved)"))[0]
    run_key = card.get_attribute("data-run-key")
    name = card.find_element(By.CSS_SELECTOR, "dd b").text
    # What a person finds in VBot's portal: the campaign the hung create made after all.
    [campaign] = [c for c in requests.get(f"{browser_stack.simulator}/_sim/campaigns", timeout=10).json()
                  if c["name"] == name]
    form = card.find_element(By.CSS_SELECTOR, "form.resolve")
    form.find_element(By.CSS_SELECTOR, "input[value=created]").click()
    form.find_element(By.NAME, "vbot_campaign_id").send_keys(str(campaign["campaign_id"]))
    form.find_element(By.NAME, "checked").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    audit = WebDriverWait(driver, 30).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f'article.run.resolved[data-run-key="{run_key}"] li.audit-row'))
    assert len(audit) == 1
    text = audit[0].text
    assert f"admin (console): created, VBot id {campaign['campaign_id']} — was ambiguous, now created" in text
    assert not driver.find_elements(By.CSS_SELECTOR, f'article.run:not(.resolved)[data-run-key="{run_key}"]')

    engine = browser_stack.engine()
    try:
        row = outbox.get_run(engine, run_key)
        [entry] = outbox.resolve_history(engine, [run_key])
    finally:
        engine.dispose()
    assert (row["state"], row["vbot_campaign_id"], row["resolved_by"]) == ("created", campaign["campaign_id"], "admin")
    assert (entry["state_before"], entry["resolved_via"]) == ("ambiguous", "console")


def test_a_link_from_the_console_opens_the_dag_run_in_airflow(driver: Any, browser_stack: Stack, day: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    console_frame(driver, browser_stack.airflow)
    driver.find_elements(By.LINK_TEXT, "DAG run")[0].click()
    driver.switch_to.default_content()
    target = f"{browser_stack.airflow}/dags/{PAY_DAG}/runs/"
    WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(target))
    assert unquote(driver.current_url.removeprefix(target)).startswith(day["run_id"])
    # Airflow's own page of the run replaces the console (not a page inside the console's frame).
    WebDriverWait(driver, 30).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "iframe"))
    WebDriverWait(driver, 30).until(lambda d: day["run_id"] in d.find_element(By.TAG_NAME, "body").text)


def test_the_outcomes_page_shows_the_days_figures(driver: Any, browser_stack: Stack, day: dict) -> None:
    from selenium.webdriver.common.by import By

    console_frame(driver, browser_stack.airflow, f"outcomes?from={day['date']}&to={day['date']}")
    figures = {k.get_attribute("data-kpi"): k.find_element(By.CLASS_NAME, "value").text
               for k in driver.find_elements(By.CSS_SELECTOR, ".kpi")}
    expected = browser_stack.request("GET", "/vbot-console/api/outcomes",
                                     params={"from": day["date"], "to": day["date"]}).json()["totals"]
    assert expected["contacts"] > 0
    assert figures["contacts"] == f"{expected['contacts']:,}".replace(",", ".")
    assert figures["cost"] == expected["total_cost_text"] and figures["cost"].endswith(" ₫")
    assert driver.find_elements(By.CSS_SELECTOR, "svg.trend rect")
    assert driver.find_elements(By.CSS_SELECTOR, "table.mix tbody tr")


def test_a_viewer_sees_the_runs_but_no_resolve_form(driver: Any, browser_stack: Stack, day: dict,
                                                    login: Any) -> None:
    from selenium.webdriver.common.by import By

    login(driver, browser_stack, "viewer")
    console_frame(driver, browser_stack.airflow, "ambiguous")
    cards = driver.find_elements(By.CSS_SELECTOR, "article.run:not(.resolved)")
    assert cards, "the other hung create should still wait for a verdict"
    assert not driver.find_elements(By.CSS_SELECTOR, "form.resolve")
    assert "You can read this run but not resolve it" in cards[0].text


# --- extra links (the REST API the task instance panel calls) ---------------------------------------------


def _links(stack: Stack, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, str | None]:
    return stack.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links",
                     params={"map_index": map_index})["extra_links"]


def test_campaign_tasks_link_to_their_day_in_the_console(browser_stack: Stack, day: dict) -> None:
    console = f"/vbot-console/campaigns?config=payment_reminder&date={day['date']}"
    for task_id, map_index in (("create_campaign", 0), ("create_campaign", 2), ("summary", -1)):
        links = _links(browser_stack, PAY_DAG, day["run_id"], task_id, map_index)
        assert links["Campaign console"] == console, (task_id, links)
        assert links["Outcome figures"] is None and links["Outcome report"] is None
    assert _links(browser_stack, PAY_DAG, day["run_id"], "build_list")["Campaign console"] is None


def test_the_report_task_links_to_the_figures_and_the_report(browser_stack: Stack, day: dict) -> None:
    links = _links(browser_stack, "vbot_reconcile", day["reconcile_id"], "report")
    assert links["Campaign console"] is None
    assert links["Outcome figures"] == f"/vbot-console/outcomes?from={day['date']}&to={day['date']}"
    assert links["Outcome report"] == f"/vbot-console/reports/{day['date']}/report.html"
    report = browser_stack.request("GET", links["Outcome report"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert f"VBot outcomes {day['date']}" in report.text
    chart = browser_stack.request("GET", f"/vbot-console/reports/{day['date']}/kpi_chart.png")
    assert chart.content.startswith(b"\x89PNG")
    assert browser_stack.request("GET", f"/vbot-console/reports/{day['date']}/..%2F..%2Fwebhook_token").status_code \
        == 404
    assert _links(browser_stack, "vbot_reconcile", day["reconcile_id"], "build_outcomes")["Outcome report"] is None
