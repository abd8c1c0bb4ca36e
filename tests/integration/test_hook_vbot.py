"""VBotHook against a real HTTP server on loopback: wire format, answers, auth, errors, retries."""

from __future__ import annotations

import json
import random
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.integration.vbot_http import set_vbot_connection
from vbot_provider.exceptions import VBotAmbiguousError, VBotPermanentError, VBotTransientError
from vbot_provider.hooks.vbot import VBotHook, backoff_delay

CREATE = "/api/campaign/create"
TOKEN = "/token"
CONTACTS = [
    {"phone": "0912345678", "name": "Nguyễn Văn An", "numberCall": 2, "due_date": "2026-12-01"},
    {"phone": "0387654321", "name": "Trần Thị Bình", "description": "nhắc nợ"},
]


def _hook(monkeypatch, server: HTTPServer, *, sleeps: list[float] | None = None, **conn) -> VBotHook:
    conn_id = set_vbot_connection(monkeypatch, server.url_for("").rstrip("/"), **conn)
    recorder = sleeps.append if sleeps is not None else (lambda _s: None)
    return VBotHook(conn_id, backoff_seconds=0.01, max_retries=3, sleep=recorder)


def _created(campaign_id: object = 123, **extra) -> dict:
    return {"status": 1, "error": 0, "msg": "success", "data": campaign_id, **extra}


def _requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [req for req, _ in server.log if req.path == path]


def test_the_session_carries_no_basic_auth_and_no_extras_as_headers(monkeypatch, vbot) -> None:
    # HttpHook's session sends login/password as basic auth and the connection's extras as headers
    # (which a werkzeug server would drop unseen: underscores); the VBot session must do neither.
    hook = _hook(monkeypatch, vbot, login="ops@example.vn", password="p@ss word")
    session = hook.get_conn()
    assert session.auth is None
    assert {k.lower() for k in session.headers} == {"user-agent", "accept-encoding", "accept", "connection"}
    assert session.headers["Accept"] == "application/json"


def test_create_sends_exactly_the_vendor_wire_body_and_headers(monkeypatch, vbot) -> None:
    vbot.expect_request(CREATE, method="POST").respond_with_json(_created(2932))
    hook = _hook(monkeypatch, vbot)

    assert hook.create_campaign(2932, "nhac_no_20261126_1", CONTACTS) == 2932

    (request,) = _requests_to(vbot, CREATE)
    assert request.headers["Authorization"] == "Bearer static-token-abc"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "vbotId": "44634001",
        "groupCode": "PR2023030714401",
        "campaignId": 2932,
        "name": "nhac_no_20261126_1",
        "phones": [
            {"fields": [{"key": "phone", "value": "0912345678"}, {"key": "name", "value": "Nguyễn Văn An"},
                        {"key": "numberCall", "value": "2"}, {"key": "due_date", "value": "2026-12-01"}]},
            {"fields": [{"key": "phone", "value": "0387654321"}, {"key": "name", "value": "Trần Thị Bình"},
                        {"key": "description", "value": "nhắc nợ"}]},
        ],
    }


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (200, _created(123), 123),
        (200, {"status": "1", "error": 2, "msg": "success", "data": "456"}, 456),
        (200, {"status": 1, "error": 0, "msg": "success", "data": "-1"}, VBotAmbiguousError),
        (200, {"status": 0, "error": 201, "msg": "Tham số không hợp lệ", "data": "-1"}, VBotPermanentError),
        (500, {"status": 0, "error": 201, "msg": "invalid", "data": "-1"}, VBotPermanentError),
        (200, {"status": 0, "error": 999, "msg": "?", "data": "-1"}, VBotPermanentError),
        (403, {"msg": "forbidden"}, VBotPermanentError),
        (404, "not here", VBotPermanentError),
    ],
)
def test_answers_that_need_no_retry(monkeypatch, vbot, status, answer, expected) -> None:
    body = json.dumps(answer) if not isinstance(answer, str) else answer
    vbot.expect_request(CREATE).respond_with_data(body, status=status, content_type="application/json")
    hook = _hook(monkeypatch, vbot)
    if isinstance(expected, int):
        assert hook.create_campaign(1, "n", CONTACTS) == expected
    else:
        with pytest.raises(expected):
            hook.create_campaign(1, "n", CONTACTS)
    assert len(_requests_to(vbot, CREATE)) == 1


def test_success_without_an_id_or_json_is_ambiguous_never_retried(monkeypatch, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_data("<html>ok</html>", status=200)
    with pytest.raises(VBotAmbiguousError, match="campaign may exist"):
        _hook(monkeypatch, vbot).create_campaign(1, "n", CONTACTS)
    assert len(_requests_to(vbot, CREATE)) == 1


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, {"status": 0, "error": 400, "msg": "Lỗi", "data": "-1"}),
        (500, {"status": 0, "error": 400, "msg": "Lỗi", "data": "-1"}),
        (502, "bad gateway"),
        (503, ""),
        (429, {"msg": "slow down"}),
        (408, ""),
    ],
)
def test_transient_answers_are_retried_then_raised(monkeypatch, vbot, status, answer) -> None:
    body = json.dumps(answer) if not isinstance(answer, str) else answer
    vbot.expect_request(CREATE).respond_with_data(body, status=status)
    sleeps: list[float] = []
    with pytest.raises(VBotTransientError):
        _hook(monkeypatch, vbot, sleeps=sleeps).create_campaign(1, "n", CONTACTS)
    assert len(_requests_to(vbot, CREATE)) == 4  # the first try and 3 retries
    assert len(sleeps) == 3


def test_500_then_200_creates_one_campaign_after_backing_off(monkeypatch, vbot) -> None:
    vbot.expect_ordered_request(CREATE).respond_with_data("boom", status=500)
    vbot.expect_ordered_request(CREATE).respond_with_json({"status": 0, "error": 400, "msg": "Lỗi"})
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(77))
    sleeps: list[float] = []
    assert _hook(monkeypatch, vbot, sleeps=sleeps).create_campaign(1, "n", CONTACTS) == 77
    assert len(_requests_to(vbot, CREATE)) == 3
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for retry in range(12):
        delay = backoff_delay(retry, base=2.0, cap=60.0, rng=rng)
        ceiling = min(60.0, 2.0 * 2**retry)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(30, base=2.0, cap=60.0, rng=rng) <= 60.0
    assert len({backoff_delay(3, 2.0, 60.0, rng) for _ in range(20)}) > 1  # jitter spreads retries


def test_retries_are_bounded_by_the_connection_setting(monkeypatch, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_data("down", status=503)
    conn_id = set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), max_retries=1, backoff_seconds=0)
    with pytest.raises(VBotTransientError):
        VBotHook(conn_id).create_campaign(1, "n", CONTACTS)
    assert len(_requests_to(vbot, CREATE)) == 2


def test_connection_refused_is_transient(monkeypatch) -> None:
    conn_id = set_vbot_connection(monkeypatch, "http://127.0.0.1:9")  # discard port: nothing listens
    sleeps: list[float] = []
    hook = VBotHook(conn_id, max_retries=2, backoff_seconds=0.01, sleep=sleeps.append)
    with pytest.raises(VBotTransientError, match="could not reach VBot"):
        hook.create_campaign(1, "n", CONTACTS)
    assert len(sleeps) == 2


def test_timeout_after_the_body_was_sent_is_ambiguous_and_not_retried(monkeypatch, vbot) -> None:
    def hang(request: Request) -> Response:
        request.get_data()
        time.sleep(1.5)
        return Response(json.dumps(_created(5)), content_type="application/json")

    vbot.expect_request(CREATE).respond_with_handler(hang)
    conn_id = set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), timeout_seconds=0.3)
    with pytest.raises(VBotAmbiguousError, match="after the body was sent"):
        VBotHook(conn_id, backoff_seconds=0.01).create_campaign(1, "n", CONTACTS)
    time.sleep(1.3)  # let the handler finish before counting
    assert len(_requests_to(vbot, CREATE)) == 1


# -- auth ----------------------------------------------------------------------------------------


def _token_answer(access: str, refresh: str = "r-1", expires_in: int = 3600) -> dict:
    return {"access_token": access, "token_type": "bearer", "expires_in": expires_in, "refresh_token": refresh}


def test_password_grant_is_form_encoded_and_cached(monkeypatch, vbot) -> None:
    vbot.expect_request(TOKEN, method="POST").respond_with_json(_token_answer("tok-1"))
    vbot.expect_request(CREATE).respond_with_json(_created(9))
    hook = _hook(monkeypatch, vbot, login="ops@example.vn", password="p@ss word")

    assert hook.create_campaign(1, "a", CONTACTS) == 9
    assert hook.create_campaign(1, "b", CONTACTS) == 9

    (grant,) = _requests_to(vbot, TOKEN)
    assert grant.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert grant.form.to_dict() == {"grant_type": "password", "username": "ops@example.vn", "password": "p@ss word"}
    assert "Authorization" not in grant.headers
    assert [r.headers["Authorization"] for r in _requests_to(vbot, CREATE)] == ["Bearer tok-1"] * 2


def test_token_near_expiry_is_renewed_with_the_refresh_token(monkeypatch, vbot) -> None:
    # expires_in 30 with a 60 s margin: stale at once, so the second call must renew it.
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("tok-1", "refresh-1", expires_in=30))
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(1))
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("tok-2", "refresh-2"))
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(2))
    hook = _hook(monkeypatch, vbot, login="ops", password="secret-pw")

    assert hook.create_campaign(1, "a", CONTACTS) == 1
    assert hook.create_campaign(1, "b", CONTACTS) == 2

    grants = [r.form.to_dict() for r in _requests_to(vbot, TOKEN)]
    assert grants[1] == {"grant_type": "refresh_token", "refresh_token": "refresh-1"}
    assert [r.headers["Authorization"] for r in _requests_to(vbot, CREATE)] == ["Bearer tok-1", "Bearer tok-2"]


def test_failed_refresh_falls_back_to_the_password_grant(monkeypatch, vbot) -> None:
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("tok-1", "refresh-1", expires_in=30))
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(1))
    vbot.expect_ordered_request(TOKEN).respond_with_json({"error": "invalid_grant"}, status=400)
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("tok-3"))
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(2))
    hook = _hook(monkeypatch, vbot, login="ops", password="secret-pw")

    hook.create_campaign(1, "a", CONTACTS)
    assert hook.create_campaign(1, "b", CONTACTS) == 2
    assert [r.form["grant_type"] for r in _requests_to(vbot, TOKEN)] == ["password", "refresh_token", "password"]
    assert _requests_to(vbot, CREATE)[-1].headers["Authorization"] == "Bearer tok-3"


def test_a_401_on_a_cached_token_gets_one_fresh_grant(monkeypatch, vbot) -> None:
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("revoked"))
    vbot.expect_ordered_request(CREATE).respond_with_data("", status=401)
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("fresh"))
    vbot.expect_ordered_request(CREATE).respond_with_json(_created(3))
    assert _hook(monkeypatch, vbot, login="ops", password="secret-pw").create_campaign(1, "a", CONTACTS) == 3


def test_refused_credentials_are_permanent_and_keep_the_password_out(monkeypatch, vbot) -> None:
    vbot.expect_request(TOKEN).respond_with_json({"error": "invalid_grant", "password": "secret-pw"}, status=400)
    with pytest.raises(VBotPermanentError, match="refused the password grant") as raised:
        _hook(monkeypatch, vbot, login="ops", password="secret-pw").create_campaign(1, "a", CONTACTS)
    assert "secret-pw" not in str(raised.value)
    assert _requests_to(vbot, CREATE) == []


def test_a_401_with_a_static_token_is_permanent(monkeypatch, vbot) -> None:
    vbot.expect_request(CREATE).respond_with_data("", status=401)
    with pytest.raises(VBotPermanentError, match="check the access token") as raised:
        _hook(monkeypatch, vbot).create_campaign(1, "a", CONTACTS)
    assert "static-token-abc" not in str(raised.value)


def test_missing_vbot_id_is_a_clear_error_before_any_request(monkeypatch, vbot) -> None:
    conn_id = set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), vbot_id="")
    with pytest.raises(VBotPermanentError, match="needs extras 'vbot_id' and 'group_code'"):
        VBotHook(conn_id).create_campaign(1, "n", CONTACTS)
    assert vbot.log == []


# -- secrets and personal data ----------------------------------------------------------------------


def test_logs_and_errors_carry_no_token_and_no_unmasked_phone(monkeypatch, vbot, caplog, capfd) -> None:
    caplog.set_level("DEBUG")
    vbot.expect_ordered_request(TOKEN).respond_with_json(_token_answer("tok-very-secret-123"))
    vbot.expect_ordered_request(CREATE).respond_with_data("oops", status=503)
    vbot.expect_ordered_request(CREATE).respond_with_json(
        {"status": 0, "error": 201, "msg": "Số 0912345678 không hợp lệ", "data": "-1"})
    hook = _hook(monkeypatch, vbot, login="ops", password="pw-very-secret-456")

    with pytest.raises(VBotPermanentError) as raised:
        hook.create_campaign(1, "nhac_no", CONTACTS)

    logs = caplog.text + "".join(capfd.readouterr())
    assert "Creating VBot campaign 'nhac_no'" in logs and "retry 1 of 3" in logs  # the logs were captured
    assert "09******78" in str(raised.value)
    for secret in ("tok-very-secret-123", "pw-very-secret-456", "0912345678", "0387654321"):
        assert secret not in logs
        assert secret not in str(raised.value)
