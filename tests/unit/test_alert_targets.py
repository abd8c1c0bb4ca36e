"""Where alerts go is configuration: the Variable vbotflow_alert_targets, checked with clear errors."""

from __future__ import annotations

import json

import pytest

from vbot_provider.notifiers import (
    HttpWebhookAlertNotifier,
    SlackWebhookAlertNotifier,
    SmtpAlertNotifier,
    targets_from_config,
)


def test_no_configuration_means_the_log_only() -> None:
    assert targets_from_config(None) == [] and targets_from_config("  ") == []
    assert targets_from_config('[{"type": "log"}]') == []


def test_each_kind_of_target() -> None:
    smtp, slack, hook = targets_from_config(json.dumps([
        {"type": "smtp", "to": "ops@example.vn"},
        {"type": "slack", "conn_id": "slack_alerts"},
        {"type": "webhook", "conn_id": "alerts_webhook"}]))
    assert isinstance(smtp, SmtpAlertNotifier) and (smtp.to, smtp.smtp_conn_id) == (["ops@example.vn"], "smtp_default")
    assert isinstance(slack, SlackWebhookAlertNotifier) and slack.conn_id == "slack_alerts"
    assert isinstance(hook, HttpWebhookAlertNotifier) and hook.conn_id == "alerts_webhook"
    (single,) = targets_from_config('{"type": "webhook", "conn_id": "x"}')  # one object is one target
    assert isinstance(single, HttpWebhookAlertNotifier)


@pytest.mark.parametrize(("raw", "message"), [
    ("smtp:ops", r"vbotflow_alert_targets is not JSON \(Expecting value at column 1\)"),
    ('"smtp"', "must be a JSON list of targets"),
    ('[{"type": "pager"}]',
     r"vbotflow_alert_targets\[0\]: 'type' must be one of \['log', 'slack', 'smtp', 'webhook'\]"),
    ('[{"type": "log"}, {"type": "smtp", "conn_id": "smtp_alerts"}]',
     r"vbotflow_alert_targets\[1\]: an smtp target needs 'to'"),
    ('[{"type": "slack"}]', r"vbotflow_alert_targets\[0\]: a slack target needs 'conn_id'"),
    ('[{"type": "webhook", "conn_id": ""}]', r"a webhook target needs 'conn_id'"),
])
def test_a_wrong_configuration_is_named(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        targets_from_config(raw)
