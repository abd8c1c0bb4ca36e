"""What an alert says, and what it never says."""

from __future__ import annotations

import pytest

from vbotflow.alerting import FailureFacts, compose_alert, scrub_error

AMBIGUOUS = ("no answer from VBot for /api/campaign/create after the body was sent (ReadTimeout); the campaign may "
             "exist. Campaign run payment_reminder/2026-11-26/001 is now ambiguous and will not be re-sent; check "
             "VBot for campaign 'payment_reminder_20261126_1', then run: vbotflow campaign resolve "
             "payment_reminder/2026-11-26/001 (--created VBOT_CAMPAIGN_ID | --not-created)")


@pytest.mark.parametrize(("raw", "kept", "gone"), [
    # SQLAlchemy's tail carries the statement and the CRM rows: names and custom fields.
    ("(psycopg.errors.NotNullViolation) null value in column \"owner\"\n[SQL: INSERT INTO x VALUES (%(name)s)]\n"
     "[parameters: {'name': 'Nguyễn Văn An', 'amount': 150000}]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)",
     "null value in column \"owner\"", ["Nguyễn", "150000", "INSERT", "sqlalche.me"]),
    ("VBot refused the request: HTTP 400, 'bad phone 0912345678 for +84 987 654 321'",
     "09******78", ["0912345678", "987 654 321"]),
    ("GET https://api.vbot.vn/x?token=s3cr3t&page=1 failed; Authorization: Bearer eyJhbGciOi.abc",
     "token=[removed]", ["s3cr3t", "eyJhbGciOi"]),
    ("could not connect to postgresql://vbot:hunter2@db:5432/crm", "postgresql://[removed]@db", ["hunter2"]),
    ("POST https://hooks.slack.com/services/T000/B000/XXXXSECRET failed", "hooks.slack.com/services/[removed]",
     ["XXXXSECRET"]),
    ("password='p@ss' api_key: k-123", "password='[removed]", ["p@ss", "k-123"]),
])
def test_an_error_is_scrubbed_before_it_leaves(raw: str, kept: str, gone: list[str]) -> None:
    text = scrub_error(raw)
    assert kept in text
    for secret in gone:
        assert secret not in text


def test_dates_run_keys_and_campaign_names_survive_phone_masking() -> None:
    text = scrub_error(AMBIGUOUS + " at 2026-11-26 09:15:00, callee 0387654321")
    assert "payment_reminder/2026-11-26/001" in text and "payment_reminder_20261126_1" in text
    assert "2026-11-26 09:15:00" in text and "03******21" in text and "0387654321" not in text


def test_a_long_error_is_cut() -> None:
    assert len(scrub_error("x" * 5000)) == 600


def test_an_ambiguous_create_says_what_to_run() -> None:
    alert = compose_alert(FailureFacts(
        dag_id="vbot_campaign__payment_reminder", task_id="create_campaign", run_id="manual__2026-11-26",
        error=AMBIGUOUS, error_type="AirflowFailException", map_index=0, try_number=1, config="payment_reminder",
        day="2026-11-26", run_keys=("payment_reminder/2026-11-26/001",), campaign_name="payment_reminder_20261126_1",
        log_url="http://airflow/log"))
    assert alert.subject == ("vbotflow alert: vbot_campaign__payment_reminder.create_campaign[0] failed "
                             "(payment_reminder, 2026-11-26)")
    assert alert.run_keys == ["payment_reminder/2026-11-26/001"]
    assert ("Then run: vbotflow campaign resolve payment_reminder/2026-11-26/001 --created <VBot campaign id>   "
            "(or --not-created)") in alert.actions
    text = alert.text()
    for line in ("Config: payment_reminder", "Day: 2026-11-26", "Run key: payment_reminder/2026-11-26/001",
                 "Task log: http://airflow/log", "Run: manual__2026-11-26"):
        assert line in text
    assert "<pre" in alert.html() and "&#x27;payment_reminder_20261126_1&#x27;" in alert.html()


@pytest.mark.parametrize(("task_id", "error", "action"), [
    ("check_account", "VBot answered 103 (balance too low) to 2 call(s)", "Top up the VBot account balance"),
    ("check_rates", "payment_reminder 2026-11-26: no result came for 40%", "Open the report /r/report.html"),
    ("write_back", "the CRM has no table 'vbot_call_outcome'", "Create or fix the CRM table"),
    ("calling_window", "the calling window 08:30–17:00 Vietnam time on 2026-11-26 has passed", "run_date whose window"),
    ("build_list", "connection refused", "Check the CRM connection"),
    ("summary", "something odd", "Read the task log"),
])
def test_each_failure_says_what_to_do(task_id: str, error: str, action: str) -> None:
    alert = compose_alert(FailureFacts(dag_id="vbot_reconcile", task_id=task_id, run_id="r", error=error,
                                       report="/r/report.html", day="2026-11-25 .. 2026-11-26"))
    assert any(action in line for line in alert.actions), alert.actions
    assert alert.as_dict()["report"] == "/r/report.html" and alert.as_dict()["task_id"] == task_id
