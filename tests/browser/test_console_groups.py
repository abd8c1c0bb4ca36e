"""The campaign console in a real browser on a day of more campaigns than create tasks.

The module's stack cuts the payment reminders into chunks of 5 contacts and allows two
``create_campaign`` task instances a day, so the demo CRM's list (several chunks; how many depends
on the day, since the list is the invoices due from today) is sent in two groups of consecutive
chunks, the first the larger by one at most, each task instance labelled ``first … last (N campaigns)``. No
simulator fault: every create succeeds. A person opens the day in the console, sees every campaign
run, follows the task link of a campaign that is not the first of its group, and lands on Airflow's
page of the task instance that sent it. Tests run in file order and share the day.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from tests.browser.harness import console_frame
from tests.stack import Stack, all_day_configs
from vbotflow.campaigns import outbox
from vbotflow.campaigns.build import group_chunks, group_label
from vbotflow.vbot.timestamps import VIETNAM

pytestmark = pytest.mark.slow

PAY_DAG = "vbot_campaign__payment_reminder"
CHUNK = 5  # about 60 phones in the 300-customer demo CRM: a dozen chunks
MAX_TASKS = 2  # … sent by two create tasks


def first_group_size(chunks: int) -> int:
    """Of ``chunks`` in two groups as even as can be, the first: the larger by one at most."""
    return (chunks + 1) // 2


def stack_env(conf_dir: Path) -> dict[str, str]:
    configs = all_day_configs(conf_dir / "campaigns", max_phones_per_campaign=CHUNK, max_create_tasks=MAX_TASKS)
    return {"VBOTFLOW_CAMPAIGNS_DIR": str(configs)}


@pytest.fixture(scope="module")
def day(browser_stack: Stack) -> dict[str, Any]:
    """The day's payment reminders sent for real, in groups; the runs as the outbox holds them."""
    stack = browser_stack
    today = datetime.now(VIETNAM).date()
    run_id, state = stack.run_dag(PAY_DAG, {})
    tasks = stack.task_states(PAY_DAG, run_id)
    assert state == "success", f"{tasks}\n{stack.log_tails()}"
    engine = stack.engine()
    try:
        runs = sorted(outbox.list_runs(engine, config_name="payment_reminder", run_date=today),
                      key=lambda r: r["chunk_number"])
    finally:
        engine.dispose()
    return {"date": today.isoformat(), "run_id": run_id, "tasks": tasks, "runs": runs,
            "groups": group_chunks(runs, MAX_TASKS)}


def group_of(day: dict[str, Any], chunk_number: int) -> tuple[int, list[dict[str, Any]]]:
    """(map index, chunks) of the group that holds a chunk."""
    [found] = [(i, g) for i, g in enumerate(day["groups"]) if any(c["chunk_number"] == chunk_number for c in g)]
    return found


def task_page(stack: Stack, run_id: str, map_index: int | None = None) -> str:
    """Airflow's page of the create task in a run: its mapped instances, or one of them."""
    url = f"{stack.airflow}/dags/{PAY_DAG}/runs/{quote(run_id, safe='')}/tasks/create_campaign/mapped"
    return url if map_index is None else f"{url}/{map_index}"


def test_the_day_is_sent_by_max_create_tasks_group_tasks(browser_stack: Stack, day: dict) -> None:
    runs, groups = day["runs"], day["groups"]
    count = len(runs)
    assert count >= 4, f"the day's list must fill two groups of two chunks or more; it made {count} chunk(s)"
    assert {r["state"] for r in runs} == {"created"}, runs
    assert [r["chunk_number"] for r in runs] == list(range(1, count + 1))
    first = first_group_size(count)
    assert [[c["chunk_number"] for c in g] for g in groups] == [list(range(1, first + 1)),
                                                                list(range(first + 1, count + 1))]
    creates = {t: s for t, s in day["tasks"].items() if t.startswith("create_campaign")}
    assert creates == {"create_campaign[0]": "success", "create_campaign[1]": "success"}, day["tasks"]
    instances = browser_stack.api("GET", f"dags/{PAY_DAG}/dagRuns/{day['run_id']}/taskInstances",
                                  params={"task_id": "create_campaign", "limit": 100})["task_instances"]
    stamp = day["date"].replace("-", "")
    assert {t["map_index"]: t["rendered_map_index"] for t in instances} == {
        0: f"payment_reminder_{stamp}_1 … payment_reminder_{stamp}_{first} ({first} campaigns)",
        1: f"payment_reminder_{stamp}_{first + 1} … payment_reminder_{stamp}_{count} ({count - first} campaigns)",
    }
    # VBot got one create per campaign, each under its run's name.
    assert sorted(c["name"] for c in browser_stack.sim("campaigns")) == sorted(r["campaign_name"] for r in runs)


def test_the_console_shows_every_run_of_the_day_with_its_group_task(driver: Any, browser_stack: Stack, day: dict,
                                                                    login: Any) -> None:
    from selenium.webdriver.common.by import By

    login(driver, browser_stack, "admin")
    console_frame(driver, browser_stack.airflow, f"campaigns?config=payment_reminder&date={day['date']}")
    group = driver.find_element(By.CSS_SELECTOR, "section.group[data-config=payment_reminder]")
    rows = group.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("data-run-key") for r in rows] == [r["run_key"] for r in day["runs"]]
    assert [r.find_element(By.CSS_SELECTOR, "td .muted").text for r in rows] == [
        r["campaign_name"] for r in day["runs"]]
    assert [r.get_attribute("data-state") for r in rows] == ["created"] * len(day["runs"])
    assert group.find_element(By.CSS_SELECTOR, "p.summary").text.startswith(
        f"{len(day['runs'])} campaign run(s) · {len(day['runs'])} created")
    # The console's JSON twin lists the same runs, with the same task instances.
    api = browser_stack.request("GET", "/vbot-console/api/campaigns",
                                params={"config": "payment_reminder", "date": day["date"]}).json()
    assert [r["run_key"] for r in api["campaign_runs"]] == [r["run_key"] for r in day["runs"]]
    dag_run = f"{browser_stack.airflow}/dags/{PAY_DAG}/runs/{quote(day['run_id'], safe='')}"
    for row, run, listed in zip(rows, day["runs"], api["campaign_runs"], strict=True):
        index, _ = group_of(day, run["chunk_number"])
        links = {a.text: a.get_attribute("href") for a in row.find_elements(By.CSS_SELECTOR, "a.airflow")}
        assert links == {"DAG run": dag_run, "task": task_page(browser_stack, day["run_id"], index)}, run["run_key"]
        assert (listed["dag_run_id"], listed["map_index"]) == (day["run_id"], index)


def test_a_task_link_of_a_grouped_campaign_opens_its_groups_task_instance(driver: Any, browser_stack: Stack,
                                                                          day: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    [second] = [r for r in day["runs"] if r["chunk_number"] == 2]  # inside the first group, not its first
    index, chunks = group_of(day, 2)
    first = first_group_size(len(day["runs"]))
    assert (index, [c["chunk_number"] for c in chunks]) == (0, list(range(1, first + 1)))
    label = group_label(chunks)
    console_frame(driver, browser_stack.airflow, f"campaigns?config=payment_reminder&date={day['date']}")
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-run-key="{second["run_key"]}"]')
    row.find_element(By.LINK_TEXT, "task").click()
    driver.switch_to.default_content()
    WebDriverWait(driver, 30).until(lambda d: d.current_url == task_page(browser_stack, day["run_id"], index))
    # Airflow's own page replaces the console: the task instance, named by its group's label, whose log
    # shows it created this very campaign.
    WebDriverWait(driver, 30).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "iframe"))
    headings = WebDriverWait(driver, 30).until(lambda d: [h.text for h in d.find_elements(By.TAG_NAME, "h2")
                                                          if h.text.startswith("create_campaign [")])
    assert headings == [f"create_campaign [{label}]"]
    assert label == f"{chunks[0]['campaign_name']} … {chunks[-1]['campaign_name']} ({first} campaigns)"
    stats = {s.find_element(By.TAG_NAME, "h2").text: s.text.split("\n", 1)[-1]
             for s in driver.find_elements(By.CSS_SELECTOR, "[data-testid=stat]")}
    assert stats["Map Index"] == label
    created = f"VBot created campaign {second['vbot_campaign_id']} ('{second['campaign_name']}')"
    WebDriverWait(driver, 60).until(lambda d: created in d.find_element(By.TAG_NAME, "body").text)


def test_airflow_lists_the_mapped_create_tasks_by_their_group_labels(driver: Any, browser_stack: Stack,
                                                                     day: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.switch_to.default_content()
    driver.get(task_page(browser_stack, day["run_id"]))
    cells = WebDriverWait(driver, 30).until(lambda d: len(found := d.find_elements(
        By.CSS_SELECTOR, "[data-testid=table-cell-rendered_map_index] a")) == len(day["groups"]) and found)
    # Airflow leaves the run id's ':' and '+' as they are in its links; the console escapes them.
    assert {a.text: unquote(a.get_attribute("href")) for a in cells} == {
        group_label(g): unquote(task_page(browser_stack, day["run_id"], i)) for i, g in enumerate(day["groups"])}
