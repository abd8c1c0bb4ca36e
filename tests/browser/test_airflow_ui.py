"""The Airflow UI of `make up`, clicked as a new data engineer would: safe, and saying what happened.

One stack (scheduler on, DAGs paused as Airflow creates them) and one logged-in browser for the
module; each test starts with the browser's local storage empty. The stack is checked through its
REST API and the simulator, never by trusting the page.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from selenium.webdriver.common.by import By

from tests.browser.harness import AirflowUI
from tests.stack import Stack, wait_for
from vbot_provider.conn_fields import VBOT_EXTRAS
from vbotflow.campaigns.config import load_configs
from vbotflow.vbot.timestamps import VIETNAM

pytestmark = pytest.mark.slow

CONFIGS = sorted(c.name for c in load_configs() if c.enabled)
CAMPAIGN_DAGS = sorted(c.dag_id for c in load_configs() if c.enabled)
ALL_DAGS = {*CAMPAIGN_DAGS, "vbot_preview", "vbot_reconcile"}


def _open_trigger_form(ui: AirflowUI, dag_id: str):
    ui.open(f"/dags/{dag_id}", expect="Trigger")
    ui.click(ui.button("Trigger"))
    dialog = ui.dialog()
    ui.wait_text("Run Parameters", within=ui.dialog)
    return dialog


def _connection_row(ui: AirflowUI, conn_id: str):
    ui.open("/connections", expect=conn_id)
    return ui.wait_for(lambda: next(r for r in ui.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
                                    if r.text.split()[:1] == [conn_id]), f"the row of {conn_id}")


def test_a_preview_with_the_forms_defaults_starts_no_campaign_and_no_reconcile(ui: AirflowUI,
                                                                              ui_stack: Stack) -> None:
    ui_stack.wait_for_dags(ALL_DAGS)
    dialog = _open_trigger_form(ui, "vbot_preview")
    # The campaign comes from a drop-down of the configs; nothing else needs touching.
    assert "Campaign" in dialog.text and "sends nothing" in ui.text()
    ui.click(ui.button("Trigger", within=dialog))
    run = wait_for(lambda: next(iter(ui_stack.runs("vbot_preview")), None), 60, "the preview's run")
    state = ui_stack.wait_for_run("vbot_preview", run["dag_run_id"])
    assert state == "success", ui_stack.log_tails()
    assert run["conf"]["config"] == CONFIGS[0] and not run["conf"].get("limit")  # the form's defaults

    # Nothing real started: every campaign DAG is still paused with no run, reconciliation too,
    # no asset event was emitted and VBot received nothing.
    for dag_id in [*CAMPAIGN_DAGS, "vbot_reconcile"]:
        assert ui_stack.api("GET", f"dags/{dag_id}")["is_paused"] is True, dag_id
        assert ui_stack.runs(dag_id) == [], dag_id
    assert ui_stack.api("GET", "assets/events")["total_entries"] == 0
    assert ui_stack.sim("creates") == []

    # The task log says what happened, in a sentence.
    ui.open(f"/dags/vbot_preview/runs/{run['dag_run_id']}/tasks/preview_list",
            expect="Nothing was sent to VBot and nothing was recorded")
    assert re.search(rf"Preview of {CONFIGS[0]} for \d{{4}}-\d\d-\d\d: \d+ CRM row", ui.text())


@pytest.mark.parametrize("typed", ["-5", "2.5"])
def test_the_form_refuses_a_bad_limit_as_typed(ui: AirflowUI, ui_stack: Stack, typed: str) -> None:
    ui_stack.wait_for_dags({"vbot_preview"})
    before = len(ui_stack.runs("vbot_preview"))
    dialog = _open_trigger_form(ui, "vbot_preview")
    limit = ui.field("element_limit", within=dialog)
    ui.type_into(limit, typed)
    ui.click(ui.button("Trigger", within=dialog))
    ui.wait_text("Invalid input for param limit", within=ui.dialog)
    assert limit.get_attribute("value") == typed  # not clamped to 1, not rounded
    assert len(ui_stack.runs("vbot_preview")) == before


def test_the_vbot_default_form_shows_every_field(ui: AirflowUI, ui_stack: Stack) -> None:
    row = _connection_row(ui, "vbot_default")
    ui.click(ui.button("Edit Connection", within=row))
    dialog = ui.dialog()
    ui.click(ui.button("Extra Fields", within=dialog))
    ui.wait_text(VBOT_EXTRAS[-1].label, within=ui.dialog)
    stored = ui_stack.api("GET", "connections/vbot_default")
    for extra in VBOT_EXTRAS:
        field = ui.field(f"element_{extra.name}", within=dialog)
        assert field.is_displayed(), extra.name
        assert extra.label in dialog.text and extra.help[:40] in dialog.text, extra.name
    assert ui.field("element_vbot_id", within=dialog).get_attribute("value") == "44634001"
    assert ui.field("element_max_retries", within=dialog).get_attribute("value") == "3"
    assert '"max_retries": 3' in stored["extra"]


def test_the_connection_test_says_ok_then_names_a_wrong_token(ui: AirflowUI, ui_stack: Stack) -> None:
    for conn_id, expected in (("vbot_default", f"Connected to VBot at {ui_stack.simulator}"),
                              ("crm_db", "Connected to sqlite:///"), ("vbotflow_db", "Connected to sqlite:///")):
        ui.click(ui.button("Test Connection", within=_connection_row(ui, conn_id)))
        ui.wait_toast(expected)

    # A wrong token typed into the form, saved, then tested: the answer names the problem, not the token.
    row = _connection_row(ui, "vbot_default")
    ui.click(ui.button("Edit Connection", within=row))
    dialog = ui.dialog()
    ui.type_into(ui.field("password", within=dialog), "wrong-token-4471")
    ui.click(ui.button("Save", within=dialog))
    ui.wait_for(lambda: not [d for d in ui.driver.find_elements(By.CSS_SELECTOR, "[role=dialog]") if d.text.strip()],
                "the form to close")
    try:
        ui.click(ui.button("Test Connection", within=_connection_row(ui, "vbot_default")))
        message = ui.wait_toast("refused the access token")
        assert "(HTTP 401). Check the credentials of this connection." in message
        assert "wrong-token-4471" not in ui.text()
        assert ui_stack.sim("creates") == []
    finally:
        ui_stack.api("PATCH", "connections/vbot_default", params={"update_mask": "password"},
                     json={"connection_id": "vbot_default", "conn_type": "vbot", "password": "sim-static-token"})


def test_times_show_in_vietnam_time_and_the_docs_keep_the_zone_name(ui: AirflowUI, ui_stack: Stack) -> None:
    # The browser runs in UTC (TZ=UTC) and no one picked a zone: the UI still shows Vietnam time.
    ui_stack.wait_for_dags({CAMPAIGN_DAGS[0]})
    ui.open(f"/dags/{CAMPAIGN_DAGS[0]}", expect="Last 24 Hours")
    assert ui.local_storage("timezone") == '"Asia/Ho_Chi_Minh"'
    assert ui.button("+07:00")  # the time zone button of the navigation bar
    # The overview's range ends now: in Vietnam time, seven hours ahead of the browser's own clock.
    shown = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", ui.text())
    assert shown, ui.text()
    now_in_vietnam = datetime.now(VIETNAM).replace(tzinfo=None)
    assert abs(datetime.fromisoformat(shown.group(1)) - now_in_vietnam) < timedelta(minutes=10), shown.group(0)
    ui.click(ui.button("Dag Docs"))
    docs = ui.wait_text("Asia/Ho_Chi_Minh", within=ui.dialog)
    assert "Asia/Ho Chi Minh" not in docs and "build_list" in docs


def test_a_users_own_time_zone_choice_wins(ui: AirflowUI, ui_stack: Stack) -> None:
    ui.driver.execute_script("window.localStorage.setItem('timezone', JSON.stringify('UTC'));")
    ui.open(f"/dags/{CAMPAIGN_DAGS[0]}", expect="Last 24 Hours")
    assert ui.local_storage("timezone") == '"UTC"'
    assert ui.button("+00:00")
