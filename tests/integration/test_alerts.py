"""A real campaign DAG run whose create goes ambiguous (the simulator's hang fault) alerts a person:
an e-mail through a real SMTP server, a Slack incoming webhook and a generic HTTP webhook on loopback."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.integration.campaign_env import campaign_env, write_test_config
from tests.integration.sim_http import GROUP_CODE, STATIC_TOKEN, VBOT_ID
from vbotflow.store.db import make_engine
from vbotflow.store.tables import campaign_contact, campaign_run

pytestmark = pytest.mark.airflow
SLACK_PATH = "/T0001/B0001/slackSECRETpath"
WEBHOOK_SECRET = "hook-secret-value"


def _targets(monkeypatch, smtp_inbox, http) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_inbox.port,
        "extra": {"from_email": "vbotflow@example.vn", "disable_tls": True, "disable_ssl": True, "retry_limit": 0}}))
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps({
        "conn_type": "slackwebhook", "host": http.url_for("/").rstrip("/"), "password": SLACK_PATH.lstrip("/")}))
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_WEBHOOK", json.dumps({
        "conn_type": "http", "host": http.url_for("/alerts"), "password": WEBHOOK_SECRET,
        "extra": {"headers": {"X-Source": "vbotflow-test"}}}))
    monkeypatch.setenv("AIRFLOW_VAR_VBOTFLOW_ALERT_TARGETS", json.dumps([
        {"type": "smtp", "conn_id": "smtp_alerts", "to": ["ops@example.vn", "oncall@example.vn"]},
        {"type": "slack", "conn_id": "slack_alerts"},
        {"type": "webhook", "conn_id": "alerts_webhook"}]))


def test_an_ambiguous_create_reaches_a_person_with_the_resolve_command(airflow_db, db_url, monkeypatch, tmp_path,
                                                                      smtp_inbox, loopback_http) -> None:
    http = loopback_http
    http.clear()
    http.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    http.expect_request("/alerts", method="POST").respond_with_json({"ok": True})
    sim = {"faults": {"hang_rate": 1.0, "hang_seconds": 3.0}}
    with campaign_env(monkeypatch, tmp_path, db_url, rows=60, sim_changes=sim) as env:
        write_test_config(env.campaigns_dir, "payment_reminder")
        # A read timeout well under the simulator's hang: VBot creates the campaign, the answer never comes.
        monkeypatch.setenv("AIRFLOW_CONN_VBOT_DEFAULT", json.dumps({
            "conn_type": "vbot", "host": env.sim_url, "password": STATIC_TOKEN,
            "extra": {"vbot_id": VBOT_ID, "group_code": GROUP_CODE, "timeout_seconds": 0.5}}))
        _targets(monkeypatch, smtp_inbox, http)

        run = env.run("payment_reminder")
        states = {(t.task_id, t.map_index): t.state for t in run.get_task_instances()}
        assert run.state == "failed" and states[("create_campaign", 0)] == "failed", states
        engine = make_engine(db_url)
        with engine.connect() as conn:
            (row,) = conn.execute(sa.select(campaign_run)).mappings().all()
            contacts = [json.loads(f) for f in conn.execute(sa.select(campaign_contact.c.fields_json)).scalars()]
        engine.dispose()
        assert row["state"] == "ambiguous" and len(env.sim("campaigns")) == 1  # the campaign does exist
        run_key = row["run_key"]
        assert run_key == f"payment_reminder/{env.run_date.isoformat()}/001"

    # The e-mail, as the SMTP server received it.
    (mail,) = smtp_inbox.messages
    assert mail["X-Envelope-To"] == "ops@example.vn, oncall@example.vn"
    assert mail["From"] == "vbotflow@example.vn"
    assert mail["Subject"] == (f"vbotflow alert: vbot_campaign__payment_reminder.create_campaign[0] failed "
                               f"(payment_reminder, {env.run_date.isoformat()})")
    (body,) = smtp_inbox.bodies()
    assert f"Run key: {run_key}" in body
    assert f"vbotflow campaign resolve {run_key} --created &lt;VBot campaign id&gt;" in body
    assert "Config: payment_reminder" in body and f"Day: {env.run_date.isoformat()}" in body
    assert f"named &#x27;{row['campaign_name']}&#x27;" in body  # what to look for in VBot's portal

    # Slack and the webhook got the same alert.
    slack = [json.loads(r.get_data()) for r, _ in http.log if r.path == SLACK_PATH]
    hook = [(json.loads(r.get_data()), r.headers) for r, _ in http.log if r.path == "/alerts"]
    assert len(slack) == 1 and f"vbotflow campaign resolve {run_key}" in slack[0]["text"]
    ((payload, headers),) = hook
    assert payload["run_keys"] == [run_key] and payload["task_id"] == "create_campaign"
    assert payload["config"] == "payment_reminder" and payload["day"] == env.run_date.isoformat()
    assert headers["Authorization"] == f"Bearer {WEBHOOK_SECRET}" and headers["X-Source"] == "vbotflow-test"

    # Never a token, a name, a custom field value or a phone number.
    everything = "\n".join([body, slack[0]["text"], json.dumps(payload, ensure_ascii=False)])
    assert STATIC_TOKEN not in everything and WEBHOOK_SECRET not in json.dumps(payload)
    assert contacts
    for contact in contacts:
        for key, value in contact.items():
            if key != "numberCall":
                assert str(value) not in everything, key
