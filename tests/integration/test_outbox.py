"""Exactly-once creation through the campaign_run outbox, on SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from airflow.sdk.exceptions import AirflowFailException
from werkzeug import Request, Response

from tests.integration.vbot_http import set_vbot_connection
from vbot_provider.exceptions import VBotTransientError
from vbot_provider.hooks.vbot import VBotHook
from vbot_provider.operators.vbot import create_campaign_once
from vbotflow.campaigns import outbox
from vbotflow.store.tables import campaign_run

CREATE = "/api/campaign/create"
DAY = date(2026, 11, 26)
CONTACTS = [{"phone": "0912345678", "name": "Lê Văn Cường"}, {"phone": "0987654321", "name": "Phạm Thị Dung"}]


@pytest.fixture
def hook(monkeypatch, vbot) -> VBotHook:
    conn_id = set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), timeout_seconds=0.3)
    return VBotHook(conn_id, max_retries=1, backoff_seconds=0.01)


def _create(hook, engine, contacts=CONTACTS, chunk=1) -> int:
    return create_campaign_once(hook=hook, engine=engine, config_name="nhac_no", run_date=DAY,
                                chunk_number=chunk, template_id=2932, campaign_name=f"nhac_no_20261126_{chunk}",
                                contacts=contacts)


def _insert_pending(engine, spec: outbox.ChunkSpec) -> None:
    """A planned chunk, as the campaign DAG's build_list records it."""
    with engine.begin() as conn:
        conn.execute(campaign_run.insert().values(**outbox.new_row(spec, "pending")))


def _posts(server) -> int:
    return sum(1 for req, _ in server.log if req.path == CREATE)


def test_a_created_run_is_never_sent_again(hook, engine, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_json({"status": 1, "error": 0, "msg": "success", "data": 501})
    assert _create(hook, engine) == 501
    assert _create(hook, engine) == 501
    assert _posts(vbot) == 1
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["vbot_campaign_id"], row["phone_count"], row["attempts"]) == ("created", 501, 2, 1)


def test_the_row_is_committed_as_sending_before_the_post(hook, engine, vbot) -> None:
    seen: list[str] = []

    def look_at_the_outbox(request: Request) -> Response:
        with engine.connect() as conn:
            seen.append(conn.execute(sa.select(campaign_run.c.state)).scalar_one())
        return Response(json.dumps({"status": 1, "data": 8}), content_type="application/json")

    vbot.expect_request(CREATE).respond_with_handler(look_at_the_outbox)
    _create(hook, engine)
    assert seen == ["sending"]


def test_transient_failure_marks_failed_and_a_retry_sends_again(hook, engine, vbot) -> None:
    vbot.expect_ordered_request(CREATE).respond_with_data("", status=500)
    vbot.expect_ordered_request(CREATE).respond_with_data("", status=500)
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 1, "error": 0, "data": 502})
    with pytest.raises(VBotTransientError):
        _create(hook, engine)
    failed = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (failed["state"], failed["vbot_campaign_id"]) == ("failed", None)
    assert _create(hook, engine) == 502
    assert outbox.get_run(engine, "nhac_no/2026-11-26/001")["attempts"] == 2
    assert _posts(vbot) == 3


def test_timeout_after_send_leaves_the_run_ambiguous_and_a_retry_sends_nothing(hook, engine, vbot) -> None:
    answered = threading.Event()
    vbot.expect_request(CREATE).respond_with_handler(_slow(1.0, {}, answered))
    with pytest.raises(AirflowFailException, match="ambiguous and will not be re-sent"):
        _create(hook, engine)
    with pytest.raises(AirflowFailException,
                       match=r"is ambiguous.*vbotflow campaign resolve nhac_no/2026-11-26/001"):
        _create(hook, engine)
    assert answered.wait(10)
    deadline = time.monotonic() + 5
    while _posts(vbot) == 0 and time.monotonic() < deadline:  # logged once the handler has returned
        time.sleep(0.05)
    assert _posts(vbot) == 1
    assert outbox.get_run(engine, "nhac_no/2026-11-26/001")["state"] == "ambiguous"


def test_permanent_error_fails_the_task_without_airflow_retries(hook, engine, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_json({"status": 0, "error": 201, "msg": "Tham số không hợp lệ"})
    with pytest.raises(AirflowFailException, match="error 201"):
        _create(hook, engine)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["error_code"]) == ("failed", 201)
    assert _posts(vbot) == 1


def test_a_run_left_sending_by_a_dead_worker_is_not_resent(hook, engine, vbot) -> None:
    body = hook.build_create_body(2932, "nhac_no_20261126_1", CONTACTS)
    from vbotflow.vbot.api import payload_sha256

    spec = outbox.ChunkSpec("nhac_no", DAY, 1, 2932, "nhac_no_20261126_1", 2, payload_sha256(body))
    assert outbox.claim_for_send(engine, spec) is None  # the dead worker took it, then died
    with pytest.raises(AirflowFailException, match="is sending"):
        _create(hook, engine)
    assert _posts(vbot) == 0


def test_same_run_key_with_different_data_fails_loudly(hook, engine, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_json({"status": 1, "data": 503})
    _create(hook, engine)
    with pytest.raises(AirflowFailException, match="the data changed"):
        _create(hook, engine, contacts=CONTACTS[:1])
    assert _posts(vbot) == 1


def test_a_failed_run_may_be_sent_with_corrected_data(hook, engine, vbot) -> None:
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 0, "error": 201, "msg": "bad"})
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 1, "data": 504})
    with pytest.raises(AirflowFailException):
        _create(hook, engine)
    assert _create(hook, engine, contacts=CONTACTS[:1]) == 504
    assert outbox.get_run(engine, "nhac_no/2026-11-26/001")["phone_count"] == 1


def test_resolve_created_stores_the_id_and_later_runs_return_it(hook, engine, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_json({"status": 1, "data": "-1"})  # success without id
    with pytest.raises(AirflowFailException, match="ambiguous"):
        _create(hook, engine)
    row = outbox.resolve(engine, "nhac_no/2026-11-26/001", created_id=777, resolved_by="an")
    assert (row["state"], row["vbot_campaign_id"], row["resolved_by"]) == ("created", 777, "an")
    assert _create(hook, engine) == 777
    assert _posts(vbot) == 1


def test_resolve_not_created_lets_the_next_run_send(hook, engine, vbot) -> None:
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 1, "data": "-1"})
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 1, "data": 505})
    with pytest.raises(AirflowFailException):
        _create(hook, engine)
    outbox.resolve(engine, "nhac_no/2026-11-26/001", created_id=None, resolved_by="an")
    assert _create(hook, engine) == 505
    assert _posts(vbot) == 2


@pytest.mark.parametrize(
    ("state", "created_id", "message"),
    [
        ("created", 9, "only a run in sending, ambiguous, failed can be resolved as created"),
        ("created", None, "only a run in sending, ambiguous can be resolved as not created"),
        ("failed", None, "only a run in sending, ambiguous can be resolved as not created"),
        ("ambiguous", 0, "a VBot campaign id is a positive integer, got 0"),
    ],
)
def test_resolve_refuses_what_does_not_fit_and_changes_nothing(engine, state, created_id, message) -> None:
    spec = outbox.ChunkSpec("nhac_no", DAY, 1, 2932, "n", 2, "a" * 64)
    _insert_pending(engine, spec)
    with engine.begin() as conn:
        conn.execute(campaign_run.update().values(state=state, vbot_campaign_id=5 if state == "created" else None))
    before = outbox.get_run(engine, spec.run_key)
    with pytest.raises(outbox.ResolveError, match=message):
        outbox.resolve(engine, spec.run_key, created_id=created_id, resolved_by="x")
    assert outbox.get_run(engine, spec.run_key) == before
    assert outbox.resolve_history(engine) == []  # a refused verdict changes nothing, so nothing is audited


def test_resolve_of_an_unknown_run_key(engine) -> None:
    with pytest.raises(outbox.UnknownRunError, match="no campaign run 'nope/2026-11-26/001'"):
        outbox.resolve(engine, "nope/2026-11-26/001", created_id=1, resolved_by="x")
    assert outbox.resolve_history(engine) == []


def _ambiguous(engine, chunk: int = 1) -> outbox.ChunkSpec:
    spec = outbox.ChunkSpec("nhac_no", DAY, chunk, 2932, f"nhac_no_20261126_{chunk}", 2, "a" * 64)
    assert outbox.claim_for_send(engine, spec) is None
    outbox.mark_ambiguous(engine, spec.run_key, "read timeout after the body was sent")
    return spec


def test_every_resolve_writes_its_audit_row_with_the_state_before(engine) -> None:
    created, not_created = _ambiguous(engine, 1), _ambiguous(engine, 2)
    outbox.resolve(engine, created.run_key, created_id=4242, resolved_by="ops-an", via="console")
    outbox.resolve(engine, not_created.run_key, created_id=None, resolved_by="ops-binh")

    newest, oldest = outbox.resolve_history(engine)
    assert {k: oldest[k] for k in ("run_key", "verdict", "vbot_campaign_id", "state_before",
                                   "vbot_campaign_id_before", "error_message_before", "state_after",
                                   "resolved_by", "resolved_via")} == {
        "run_key": created.run_key, "verdict": "created", "vbot_campaign_id": 4242, "state_before": "ambiguous",
        "vbot_campaign_id_before": None, "error_message_before": "read timeout after the body was sent",
        "state_after": "created", "resolved_by": "ops-an", "resolved_via": "console"}
    assert (newest["run_key"], newest["verdict"], newest["vbot_campaign_id"], newest["state_after"],
            newest["resolved_via"]) == (not_created.run_key, "not_created", None, "failed", "cli")
    assert oldest["resolved_at"] <= newest["resolved_at"]
    assert [r["run_key"] for r in outbox.resolve_history(engine, [created.run_key])] == [created.run_key]


def test_a_failed_run_resolved_as_created_later_records_the_earlier_verdict_too(engine) -> None:
    spec = _ambiguous(engine)
    outbox.resolve(engine, spec.run_key, created_id=None, resolved_by="an")
    outbox.resolve(engine, spec.run_key, created_id=31, resolved_by="binh")  # found it after all
    assert [(r["state_before"], r["state_after"], r["resolved_by"]) for r in outbox.resolve_history(engine)] == [
        ("failed", "created", "binh"), ("ambiguous", "failed", "an")]


@pytest.mark.parametrize(("by", "via", "message"), [
    ("", "cli", "a resolve must name who made it"),
    ("  ", "console", "a resolve must name who made it"),
    ("an", "email", "unknown resolve channel 'email'; one of cli, console"),
])
def test_resolve_needs_a_person_and_a_known_channel(engine, by, via, message) -> None:
    spec = _ambiguous(engine)
    with pytest.raises(outbox.ResolveError, match=message):
        outbox.resolve(engine, spec.run_key, created_id=1, resolved_by=by, via=via)
    assert outbox.get_run(engine, spec.run_key)["state"] == "ambiguous"
    assert outbox.resolve_history(engine) == []


def test_pending_row_is_taken_by_the_first_claim_only(engine) -> None:
    spec = outbox.ChunkSpec("nhac_no", DAY, 2, 2932, "n", 2, "b" * 64)
    _insert_pending(engine, spec)
    assert outbox.claim_for_send(engine, spec) is None
    with pytest.raises(outbox.CampaignInFlightError):
        outbox.claim_for_send(engine, spec)
    assert [r["state"] for r in outbox.list_runs(engine, config_name="nhac_no")] == ["sending"]


@pytest.mark.parametrize(("host", "reason"), [
    ("", "InvalidURL"), ("http://", "InvalidURL"), ("not a url", "InvalidURL"), ("http://[::1", "ValueError"),
    ("ftp://vbot.example", "InvalidSchema"),
])
def test_an_invalid_host_leaves_the_run_retryable(monkeypatch, engine, host: str, reason: str) -> None:
    # Nothing can leave the machine without a usable URL: the run stays sendable, never ambiguous.
    hook = VBotHook(set_vbot_connection(monkeypatch, host), max_retries=0)
    with pytest.raises(AirflowFailException, match=rf"invalid VBot URL for /api/campaign/create \({reason}\); "
                                                   r"check the connection's host"):
        _create(hook, engine)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert "invalid VBot URL" in row["error_message"]


@pytest.fixture
def ctrl_c() -> Iterator[Callable[[], None]]:
    """Press Ctrl-C: SIGINT to this process, whose main thread runs the test, with Python's own handler
    (a task runner earlier in the session may have installed another)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield lambda: os.kill(os.getpid(), signal.SIGINT)
    signal.signal(signal.SIGINT, previous)


# The handlers below outlive the client's wait; a test waits for ``answered`` before it ends, or the
# server would log the request into the next test's log (the server is the module's).
def _interrupting(press: Callable[[], None], answer: dict, arrived: list[str],
                  answered: threading.Event) -> Callable[[Request], Response]:
    """A VBot that has read the body, then sees the client interrupted while it waits for the answer."""
    def handler(request: Request) -> Response:
        try:
            request.get_data()
            arrived.append(request.path)
            press()
            time.sleep(0.5)
            return Response(json.dumps(answer), content_type="application/json")
        finally:
            answered.set()

    return handler


def _slow(seconds: float, answer: dict, answered: threading.Event) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        try:
            request.get_data()
            time.sleep(seconds)
            return Response(json.dumps(answer), content_type="application/json")
        finally:
            answered.set()

    return handler


def test_an_interrupt_while_the_body_is_on_the_wire_leaves_the_run_ambiguous(hook, engine, vbot, ctrl_c) -> None:
    arrived: list[str] = []
    answered = threading.Event()
    vbot.expect_request(CREATE).respond_with_handler(_interrupting(ctrl_c, {"status": 1, "data": 9}, arrived,
                                                                   answered))
    hook = VBotHook(hook.vbot_conn_id, max_retries=0, timeout_seconds=5)
    with pytest.raises(KeyboardInterrupt):  # re-raised as it came: a kill stays a kill
        _create(hook, engine)
    assert answered.wait(10)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["error_message"]) == ("ambiguous", "interrupted while sending: KeyboardInterrupt")
    assert arrived == [CREATE]  # the body did reach "VBot": ambiguous is the truth


def test_airflows_execution_timeout_during_the_post_leaves_the_run_ambiguous(hook, engine, vbot) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    answered = threading.Event()
    vbot.expect_request(CREATE).respond_with_handler(_slow(1.5, {"status": 1, "data": 9}, answered))
    hook = VBotHook(hook.vbot_conn_id, max_retries=0, timeout_seconds=5)
    with pytest.raises(AirflowTaskTimeout), timeout(seconds=0.5):
        _create(hook, engine)
    assert answered.wait(10)
    assert outbox.get_run(engine, "nhac_no/2026-11-26/001")["state"] == "ambiguous"


def test_an_interrupt_during_the_token_grant_leaves_the_run_retryable(monkeypatch, engine, vbot, ctrl_c) -> None:
    arrived: list[str] = []
    answered = threading.Event()
    vbot.expect_request("/token").respond_with_handler(_interrupting(ctrl_c, {"access_token": "a"}, arrived,
                                                                     answered))
    hook = VBotHook(set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), login="ops", password="pw",
                                        timeout_seconds=5), max_retries=0)
    with pytest.raises(KeyboardInterrupt):
        _create(hook, engine)
    assert answered.wait(10)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["error_message"]) == ("failed", "interrupted before the body was sent: KeyboardInterrupt")
    assert arrived == ["/token"] and _posts(vbot) == 0


def test_an_interrupt_while_backing_off_after_a_refused_connection_leaves_the_run_retryable(monkeypatch,
                                                                                          engine) -> None:
    def interrupted_sleep(seconds: float) -> None:
        raise SystemExit(1)  # the worker is being shut down between two tries

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once the socket is closed
    hook = VBotHook(set_vbot_connection(monkeypatch, f"http://127.0.0.1:{port}"), max_retries=2,
                    backoff_seconds=0.01, sleep=interrupted_sleep)
    with pytest.raises(SystemExit):
        _create(hook, engine)
    assert outbox.get_run(engine, "nhac_no/2026-11-26/001")["state"] == "failed"


def _refuse() -> None:
    raise AirflowFailException("not creating the campaign: the calling window has passed")


def test_a_created_chunk_returns_its_id_whatever_the_hour(hook, engine, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_json({"status": 1, "error": 0, "msg": "success", "data": 601})
    assert _create(hook, engine) == 601
    assert create_campaign_once(hook=hook, engine=engine, config_name="nhac_no", run_date=DAY, chunk_number=1,
                                template_id=2932, campaign_name="nhac_no_20261126_1", contacts=CONTACTS,
                                before_send=_refuse) == 601
    assert _posts(vbot) == 1


def test_a_chunk_that_would_be_sent_needs_the_window_and_stays_as_it_was(hook, engine, vbot) -> None:
    body = hook.build_create_body(2932, "nhac_no_20261126_1", CONTACTS)
    from vbotflow.vbot.api import payload_sha256

    _insert_pending(engine, outbox.ChunkSpec("nhac_no", DAY, 1, 2932, "nhac_no_20261126_1", 2, payload_sha256(body)))
    with pytest.raises(AirflowFailException, match="calling window has passed"):
        create_campaign_once(hook=hook, engine=engine, config_name="nhac_no", run_date=DAY, chunk_number=1,
                             template_id=2932, campaign_name="nhac_no_20261126_1", contacts=CONTACTS,
                             before_send=_refuse)
    row = outbox.get_run(engine, "nhac_no/2026-11-26/001")
    assert (row["state"], row["attempts"], row["sent_at"]) == ("pending", 0, None)
    assert _posts(vbot) == 0


def test_an_ambiguous_chunk_says_so_before_the_window_is_asked(hook, engine, vbot) -> None:
    body = hook.build_create_body(2932, "nhac_no_20261126_1", CONTACTS)
    from vbotflow.vbot.api import payload_sha256

    spec = outbox.ChunkSpec("nhac_no", DAY, 1, 2932, "nhac_no_20261126_1", 2, payload_sha256(body))
    assert outbox.claim_for_send(engine, spec) is None
    outbox.mark_ambiguous(engine, spec.run_key, "no answer")
    with pytest.raises(AirflowFailException, match=r"is ambiguous.*vbotflow campaign resolve nhac_no/2026-11-26/001"):
        create_campaign_once(hook=hook, engine=engine, config_name="nhac_no", run_date=DAY, chunk_number=1,
                             template_id=2932, campaign_name="nhac_no_20261126_1", contacts=CONTACTS,
                             before_send=_refuse)
    assert _posts(vbot) == 0
