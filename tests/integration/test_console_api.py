"""The campaign console's API on the API server `make up` starts: real logins, real JWTs, the stack's own DB.

One stack for the module (users admin, operator with Airflow's ``user`` role, viewer), seeded with a
known day (``tests/console_data.py``). Reading tests come first; the resolve tests change the data
and run last, in file order.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.console_data import (
    AMBIGUOUS_KEY,
    APPT,
    DAY,
    DAY_BEFORE,
    PAY,
    PHONES,
    SENDING_KEY,
    seed,
)
from tests.stack import Stack, running_stack
from vbotflow.campaigns import outbox

pytestmark = pytest.mark.slow

CONSOLE = "/vbot-console"
USERS = "admin:admin,operator:user,viewer:viewer"
VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))
READ_ENDPOINTS = ["/", "/campaigns", "/rejects", "/ambiguous", "/outcomes", "/static/console.css",
                  "/api/campaigns", "/api/rejects", "/api/rejects.csv", "/api/ambiguous",
                  f"/api/audit?run_key={AMBIGUOUS_KEY}", "/api/outcomes", f"/reports/{DAY}/report.html"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("console-api-var"),
                       AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=USERS) as stack:
        engine = stack.engine()
        seed(engine)
        engine.dispose()
        yield stack


def get(stack: Stack, path: str, user: str | None = "admin", **params: object) -> requests.Response:
    return stack.request("GET", CONSOLE + path, user=user, params=params)


def resolve(stack: Stack, user: str | None, **body: object) -> requests.Response:
    return stack.request("POST", f"{CONSOLE}/api/resolve", user=user, json=body)


def run_row(stack: Stack, run_key: str) -> dict:
    engine = stack.engine()
    try:
        return outbox.get_run(engine, run_key)
    finally:
        engine.dispose()


def audit_rows(stack: Stack) -> list[dict]:
    engine = stack.engine()
    try:
        return outbox.resolve_history(engine)
    finally:
        engine.dispose()


# --- authentication and authorization ----------------------------------------------------------------


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_anonymous_requests_get_401(stack: Stack, path: str) -> None:
    answer = stack.request("GET", CONSOLE + path, user=None, allow_redirects=False)
    assert answer.status_code == 401, answer.text[:300]
    assert answer.json() == {"detail": "Not authenticated"}


def test_an_anonymous_resolve_gets_401_and_changes_nothing(stack: Stack) -> None:
    answer = resolve(stack, None, run_key=AMBIGUOUS_KEY, verdict="created", vbot_campaign_id=1)
    assert answer.status_code == 401
    assert run_row(stack, AMBIGUOUS_KEY)["state"] == "ambiguous"
    assert audit_rows(stack) == []


def test_an_anonymous_browser_gets_a_401_page_with_a_way_to_log_in(stack: Stack) -> None:
    answer = stack.request("GET", f"{CONSOLE}/campaigns", user=None, headers={"Accept": "text/html"})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("text/html")
    assert "Please log in to Airflow first" in answer.text
    assert 'href="/auth/login?next=/vbot-console/campaigns"' in answer.text


def test_a_forged_token_is_refused(stack: Stack) -> None:
    forged = stack.token("admin")[:-6] + "AAAAAA"  # the signature no longer matches
    answer = requests.get(f"{stack.airflow}{CONSOLE}/api/campaigns", timeout=30,
                          headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 403  # Airflow's answer to a token it cannot verify
    assert answer.json() == {"detail": "Invalid JWT token"}


def test_a_viewer_reads_everything(stack: Stack) -> None:
    for path in READ_ENDPOINTS[:-1]:  # no report file was written in this stack
        answer = get(stack, path, user="viewer")
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}"
    assert get(stack, f"/reports/{DAY}/report.html", user="viewer").status_code == 404


# --- campaigns -------------------------------------------------------------------------------------------


def test_campaigns_of_the_newest_day_with_what_a_person_needs(stack: Stack) -> None:
    body = get(stack, "/api/campaigns").json()
    assert body["date"] == DAY.isoformat()
    runs = {r["run_key"]: r for r in body["campaign_runs"]}
    assert sorted(runs) == [f"{APPT}/{DAY}/001", SENDING_KEY, f"{PAY}/{DAY}/001", AMBIGUOUS_KEY]
    assert body["total_entries"] == 4
    created = runs[f"{PAY}/{DAY}/001"]
    assert {k: created[k] for k in ("config_name", "run_date", "state", "vbot_campaign_id", "contacts",
                                    "created_at", "campaign_name")} == {
        "config_name": PAY, "run_date": DAY.isoformat(), "state": "created", "vbot_campaign_id": 501,
        "contacts": 3, "created_at": "2026-11-26T01:30:00+00:00", "campaign_name": "payment_reminder_20261126_1"}
    # No Airflow task ever handled these seeded runs: the link goes to the DAG itself.
    assert created["dag_url"] == f"/dags/vbot_campaign__{PAY}"
    assert created["dag_run_url"] is None and created["task_url"] is None
    assert runs[AMBIGUOUS_KEY]["error_message"] == "read timeout after the body was sent"
    assert "payload_sha256" not in created


@pytest.mark.parametrize(("params", "expected"), [
    ({"date": DAY_BEFORE.isoformat()}, [f"{PAY}/{DAY_BEFORE}/001"]),
    ({"config": APPT}, [f"{APPT}/{DAY}/001", SENDING_KEY]),
    ({"state": "ambiguous"}, [AMBIGUOUS_KEY]),
    ({"config": PAY, "state": "created"}, [f"{PAY}/{DAY}/001"]),
    ({"date": "2026-12-31"}, []),
    ({"date": "", "config": "", "state": ""}, [f"{APPT}/{DAY}/001", SENDING_KEY, f"{PAY}/{DAY}/001", AMBIGUOUS_KEY]),
])
def test_campaigns_filter_by_date_config_and_state(stack: Stack, params: dict, expected: list[str]) -> None:
    answer = get(stack, "/api/campaigns", **params)
    assert answer.status_code == 200, answer.text
    assert sorted(r["run_key"] for r in answer.json()["campaign_runs"]) == sorted(expected)


@pytest.mark.parametrize(("params", "detail"), [
    ({"date": "26/11/2026"}, "date must be a date as YYYY-MM-DD, got '26/11/2026'"),
    ({"state": "lost"}, "state must be one of pending, sending, created, failed, ambiguous, got 'lost'"),
])
def test_a_bad_filter_is_refused_with_what_is_wrong(stack: Stack, params: dict, detail: str) -> None:
    answer = get(stack, "/api/campaigns", **params)
    assert answer.status_code == 422
    assert answer.json() == {"detail": detail}


def test_the_campaigns_page_groups_the_day_by_config(stack: Stack) -> None:
    answer = get(stack, "/campaigns", config=PAY)
    assert answer.status_code == 200
    page = answer.text
    assert f"{DAY} · " in page and f">{PAY}</a>" in page and f">{APPT}</a>" not in page
    assert f'data-run-key="{AMBIGUOUS_KEY}" data-state="ambiguous"' in page
    assert "4 rejected</a>" in page and "invalid_phone 2, dnc 1, duplicate 1" in page
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


# --- rejects ---------------------------------------------------------------------------------------------


def test_rejects_count_by_reason_and_list_masked_rows(stack: Stack) -> None:
    body = get(stack, "/api/rejects", config=PAY).json()
    assert [(c["reason"], c["count"]) for c in body["counts"]] == [("invalid_phone", 2), ("dnc", 1), ("duplicate", 1)]
    assert [(r["reason"], r["crm_contact_id"], r["phone_masked"]) for r in body["rejected"]] == [
        ("dnc", "C-22", "09******21"), ("duplicate", '=HYPERLINK("http://x","y")', "03******88"),
        ("invalid_phone", "C-20", "09********99"), ("invalid_phone", "C-21", "12*45")]
    assert [r["reason"] for r in get(stack, "/api/rejects", reason="dnc").json()["rejected"]] == ["dnc"]


def test_rejects_download_as_csv(stack: Stack) -> None:
    answer = get(stack, "/api/rejects.csv", date=DAY.isoformat(), config=PAY)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="rejects_{DAY}_{PAY}.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 4
    assert {r["phone_masked"] for r in rows} == {"09******21", "03******88", "09********99", "12*45"}
    assert rows[1]["crm_contact_id"] == "'=HYPERLINK(\"http://x\",\"y\")"  # a spreadsheet shows it, never runs it
    assert [r["reason"] for r in csv.DictReader(io.StringIO(get(stack, "/api/rejects.csv").text))].count(
        "missing_field") == 1


# --- outcomes --------------------------------------------------------------------------------------------


def test_outcome_figures_of_a_day(stack: Stack) -> None:
    body = get(stack, "/api/outcomes", **{"from": DAY.isoformat(), "to": DAY.isoformat()}).json()
    assert {k: body["totals"][k] for k in ("contacts", "called", "answered", "answer_rate", "talk_seconds",
                                           "total_cost", "total_cost_text", "rejected")} == {
        "contacts": 5, "called": 4, "answered": 2, "answer_rate": "0.5000", "talk_seconds": 95,
        "total_cost": "4184.50", "total_cost_text": "4.184,50 ₫", "rejected": 5}
    assert [(m["config_name"], m["vbot_campaign_id"], m["outcomes"]["answered"]) for m in body["mix"]] == [
        (APPT, 502, 1), (PAY, 501, 1)]
    assert len(body["trend"]) == 30 and body["trend"][-1] == {
        "day": DAY.isoformat(), "contacts": 5, "called": 4, "answered": 2, "answer_rate": "0.5000",
        "total_cost": "4184.50"}
    assert body["report"] is None  # no report file was written in this stack


def test_the_outcomes_page_shows_the_figures_and_the_trend(stack: Stack) -> None:
    page = get(stack, "/outcomes", to=DAY.isoformat()).text
    for shown in ("4.184,50 ₫", "50,0 %", "1 min 35 s", '<svg xmlns="http://www.w3.org/2000/svg" class="trend"',
                  "answered 1, not_reached 1, bad_number 1"):
        assert shown in page
    assert get(stack, "/api/outcomes", **{"from": DAY.isoformat(), "to": DAY_BEFORE.isoformat()}).json() == {
        "detail": f"from {DAY} is after to {DAY_BEFORE}"}


def test_no_answer_carries_a_phone_number_or_a_secret(stack: Stack) -> None:
    secrets = [(stack.var_dir / "webhook_token").read_text().strip(), "sim-static-token", stack.password("admin")]
    bodies = [get(stack, path).text for path in READ_ENDPOINTS[:-1]]
    bodies += [get(stack, "/api/rejects", date=DAY.isoformat()).text, get(stack, "/rejects", date=DAY.isoformat()).text]
    for body in bodies:
        assert [p for p in PHONES if p in body] == []
        assert [s for s in secrets if s in body] == []


def test_the_plugin_is_registered_with_its_view_and_links(stack: Stack) -> None:
    [plugin] = [p for p in stack.api("GET", "plugins")["plugins"] if p["name"] == "vbot_console"]
    assert plugin["fastapi_apps"] == [{"app": "fastapi.applications.FastAPI", "url_prefix": CONSOLE,
                                       "name": "VBot campaign console"}]
    [view] = plugin["external_views"]
    assert (view["url_route"], view["href"], view["destination"]) == ("vbot-console", f"{CONSOLE}/campaigns", "nav")
    assert len(plugin["global_operator_extra_links"]) == 3
    assert "vbot_provider.console.plugin:VBotConsolePlugin" in plugin["source"]


# --- resolving (changes the data: last) ----------------------------------------------------------------


def test_a_viewer_may_not_resolve_and_nothing_changes(stack: Stack) -> None:
    before = run_row(stack, AMBIGUOUS_KEY)
    answer = resolve(stack, "viewer", run_key=AMBIGUOUS_KEY, verdict="created", vbot_campaign_id=777)
    assert answer.status_code == 403
    assert answer.json() == {"detail": f"viewer may not resolve runs of DAG vbot_campaign__{PAY} "
                                       "(it needs edit rights on its runs)"}
    assert run_row(stack, AMBIGUOUS_KEY) == before
    assert audit_rows(stack) == []
    page = get(stack, "/ambiguous", user="viewer").text
    assert "You can read this run but not resolve it" in page and 'class="resolve"' not in page


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"run_key": "nope/2026-11-26/001", "verdict": "not_created"}, 404, "no campaign run 'nope/2026-11-26/001'"),
    ({"run_key": AMBIGUOUS_KEY, "verdict": "created", "vbot_campaign_id": 0}, 422,
     "a VBot campaign id is a positive integer, got 0"),
    ({"run_key": f"{PAY}/{DAY}/001", "verdict": "not_created"}, 409,
     f"campaign run {PAY}/{DAY}/001 is created; only a run in sending, ambiguous can be resolved as not created"),
])
def test_a_resolve_that_does_not_fit_is_refused_with_the_clis_words(stack: Stack, body: dict, status: int,
                                                                    detail: str) -> None:
    answer = resolve(stack, "admin", **body)
    assert answer.status_code == status, answer.text
    assert answer.json() == {"detail": detail}
    assert run_row(stack, AMBIGUOUS_KEY)["state"] == "ambiguous"
    assert audit_rows(stack) == []


@pytest.mark.parametrize(("body", "message"), [
    ({"run_key": AMBIGUOUS_KEY, "verdict": "created"}, "needs the VBot campaign id found in VBot's portal"),
    ({"run_key": AMBIGUOUS_KEY, "verdict": "not_created", "vbot_campaign_id": 5}, "has no VBot campaign id"),
    ({"run_key": AMBIGUOUS_KEY, "verdict": "maybe"}, "Input should be 'created' or 'not_created'"),
])
def test_a_malformed_verdict_is_refused(stack: Stack, body: dict, message: str) -> None:
    answer = resolve(stack, "admin", **body)
    assert answer.status_code == 422
    assert message in answer.text
    assert audit_rows(stack) == []


def test_a_verdict_posted_as_a_form_is_refused(stack: Stack) -> None:
    # What a page on another site could make a browser send with the UI's cookie: never acted on.
    answer = stack.request("POST", f"{CONSOLE}/api/resolve", user="admin",
                           data={"run_key": AMBIGUOUS_KEY, "verdict": "not_created"})
    assert answer.status_code == 415
    assert answer.json() == {"detail": "send the request as application/json"}
    assert run_row(stack, AMBIGUOUS_KEY)["state"] == "ambiguous"


def test_resolve_created_records_the_audit_row_shown_beside_the_run(stack: Stack) -> None:
    answer = resolve(stack, "admin", run_key=AMBIGUOUS_KEY, verdict="created", vbot_campaign_id=777)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["campaign_run"]["state"], body["campaign_run"]["vbot_campaign_id"]) == ("created", 777)
    assert {k: body["resolve"][k] for k in ("run_key", "verdict", "vbot_campaign_id", "state_before",
                                            "error_message_before", "state_after", "resolved_by",
                                            "resolved_via")} == {
        "run_key": AMBIGUOUS_KEY, "verdict": "created", "vbot_campaign_id": 777, "state_before": "ambiguous",
        "error_message_before": "read timeout after the body was sent", "state_after": "created",
        "resolved_by": "admin", "resolved_via": "console"}
    row = run_row(stack, AMBIGUOUS_KEY)
    assert (row["state"], row["vbot_campaign_id"], row["resolved_by"]) == ("created", 777, "admin")
    [audit] = audit_rows(stack)
    assert (audit["verdict"], audit["resolved_by"], audit["resolved_via"]) == ("created", "admin", "console")

    ambiguous = get(stack, "/api/ambiguous").json()
    assert [r["run_key"] for r in ambiguous["campaign_runs"]] == [SENDING_KEY]
    [resolved] = ambiguous["recently_resolved"]
    assert resolved["run_key"] == AMBIGUOUS_KEY
    assert [(r["verdict"], r["resolved_by"]) for r in resolved["resolves"]] == [("created", "admin")]
    assert get(stack, "/api/audit", run_key=AMBIGUOUS_KEY).json()["total_entries"] == 1
    assert "admin</b> (console):" in get(stack, "/ambiguous").text

    again = resolve(stack, "admin", run_key=AMBIGUOUS_KEY, verdict="not_created")
    assert again.status_code == 409
    assert len(audit_rows(stack)) == 1


def test_a_user_role_resolves_not_created_and_the_cli_sees_it(stack: Stack) -> None:
    answer = resolve(stack, "operator", run_key=SENDING_KEY, verdict="not_created")
    assert answer.status_code == 200, answer.text
    assert run_row(stack, SENDING_KEY)["state"] == "failed"  # the next run of its DAG sends it
    history = subprocess.run([VBOTFLOW, "--url", stack.db_url, "campaign", "history", SENDING_KEY],
                             capture_output=True, text=True, timeout=60, check=False)
    assert history.returncode == 0, history.stderr
    [line] = history.stdout.splitlines()[1:]
    assert line.split("\t")[1:] == [SENDING_KEY, "not_created", "", "sending", "failed", "operator", "console"]


def test_a_resolve_made_with_the_cli_shows_in_the_console(stack: Stack) -> None:
    engine = stack.engine()
    try:
        spec = outbox.ChunkSpec(PAY, date(2026, 11, 26), 3, 2932, "payment_reminder_20261126_3", 4, "3" * 64)
        assert outbox.claim_for_send(engine, spec) is None
        outbox.mark_ambiguous(engine, spec.run_key, "connection lost after the body was sent")
    finally:
        engine.dispose()
    assert spec.run_key in [r["run_key"] for r in get(stack, "/api/ambiguous").json()["campaign_runs"]]
    done = subprocess.run([VBOTFLOW, "--url", stack.db_url, "campaign", "resolve", spec.run_key, "--created", "9001",
                           "--by", "ops-an"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [audit] = get(stack, "/api/audit", run_key=spec.run_key).json()["resolves"]
    assert (audit["verdict"], audit["vbot_campaign_id"], audit["state_before"], audit["resolved_by"],
            audit["resolved_via"]) == ("created", 9001, "ambiguous", "ops-an", "cli")
    engine = sa.create_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM resolve_audit")).scalar_one() == 3
    finally:
        engine.dispose()


# --- erasure (changes the data: last) -------------------------------------------------------------


def erase(stack: Stack, user: str | None, **body: object) -> requests.Response:
    return stack.request("POST", f"{CONSOLE}/api/erase", user=user, json=body)


def _rows_with_phone(stack: Stack, phone: str) -> dict[str, int]:
    engine = sa.create_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE phone = :p"), {"p": phone})
                    .scalar_one() for table in ("contact_outcome", "suppression")}
    finally:
        engine.dispose()


def _privacy_audit_rows(stack: Stack) -> int:
    engine = sa.create_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM privacy_audit")).scalar_one()
    finally:
        engine.dispose()


def test_only_privileged_users_may_erase(stack: Stack) -> None:
    assert erase(stack, None, phone="0977000111", dry_run=False).status_code == 401
    for user in ("viewer", "operator"):  # reading and resolving are not enough
        answer = erase(stack, user, phone="0977000111", dry_run=False)
        assert answer.status_code == 403, answer.text
        assert "may not erase personal data" in answer.json()["detail"]
    assert _rows_with_phone(stack, "0977000111") == {"contact_outcome": 2, "suppression": 0}
    assert _privacy_audit_rows(stack) == 0
    assert 'id="no-erase"' in get(stack, "/privacy", user="viewer").text
    assert 'class="erase"' in get(stack, "/privacy", user="admin").text
    form_post = stack.request("POST", f"{CONSOLE}/api/erase", user="admin", data={"phone": "0977000111"})
    assert form_post.status_code == 415


def test_a_number_that_cannot_be_a_vietnamese_mobile_is_refused_with_the_reason(stack: Stack) -> None:
    answer = erase(stack, "admin", phone="12345", dry_run=False)
    assert answer.status_code == 422
    assert "not a Vietnamese mobile number in any spelling" in answer.json()["detail"]
    assert _privacy_audit_rows(stack) == 0


def test_an_admin_erases_a_person_after_a_dry_run_and_the_figures_stay(stack: Stack) -> None:
    totals_before = get(stack, "/api/outcomes", **{"from": DAY_BEFORE.isoformat(), "to": DAY.isoformat()}
                        ).json()["totals"]
    dry = erase(stack, "admin", phone="+84 977 000 111", dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["rows"]["contact_outcome"] == 2
    assert _rows_with_phone(stack, "0977000111") == {"contact_outcome": 2, "suppression": 0}
    assert _privacy_audit_rows(stack) == 0

    done = erase(stack, "admin", phone="0977 000 111", dry_run=False)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["dry_run"] is False and result["audit_id"] is not None
    assert result["rows"]["contact_outcome"] == 2
    assert _rows_with_phone(stack, "0977000111") == {"contact_outcome": 0, "suppression": 1}
    assert _privacy_audit_rows(stack) == 1
    assert not any(phone in done.text for phone in PHONES)
    assert "Erasure of person" in "\n".join(result["lines"])
    totals_after = get(stack, "/api/outcomes", **{"from": DAY_BEFORE.isoformat(), "to": DAY.isoformat()}
                       ).json()["totals"]
    assert totals_after == totals_before
