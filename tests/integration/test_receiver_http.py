"""The receiver over real HTTP (threaded Werkzeug on loopback) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.integration.receiver_support import (
    OLD_TOKEN,
    TOKEN,
    autocall_body,
    call_record,
    call_records,
    events,
    post,
    werkzeug_server,
)
from vbotflow.receiver.signature import Webhook

SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the receiver stores UTC, so naive means UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@pytest.fixture
def receiver(db_url: str, tmp_path: Path) -> Iterator[str]:
    config = {"DB_URL": db_url, "WEBHOOK_TOKENS": (TOKEN, OLD_TOKEN), "SPOOL_DIR": str(tmp_path / "spool"),
              "SPOOL_RETRY_SECONDS": 0}
    with werkzeug_server(config) as url:
        yield url


def test_an_autocall_result_is_stored_raw_with_typed_columns(receiver: str, db_url: str) -> None:
    raw = json.dumps(autocall_body(phone="+84 912.345.678", status="3"), ensure_ascii=False).encode()
    before = datetime.now(UTC)
    answer = post(receiver, "/webhooks/vbot/autocall", raw, headers={"X-Request-Id": "r-1"})

    assert answer.status_code == 200
    assert answer.json() == {"status": "stored", "kind": "autocall", "event_id": events(db_url)[0]["event_id"]}
    [event] = events(db_url)
    assert event["body"] == raw
    assert (event["kind"], event["endpoint"], event["landed_via"], event["parse_error"]) == (
        "autocall", "autocall", "http", None)
    assert (event["vbot_campaign_id"], event["phone"], event["status_code"]) == (2932, "+84912345678", 3)
    assert _utc(event["called_at"]) == datetime(2026, 11, 26, 2, 15, tzinfo=UTC)  # 09:15 in Vietnam
    assert before <= _utc(event["received_at"]) <= datetime.now(UTC)
    assert event["remote_addr"] == "127.0.0.1"
    assert event["dedupe_key"].startswith("autocall:")
    headers = json.loads(event["headers_json"])
    assert headers["x-request-id"] == "r-1"
    assert "x-webhook-token" not in headers and TOKEN not in event["headers_json"]


def test_a_call_history_batch_keeps_one_event_and_each_record_once(receiver: str, db_url: str) -> None:
    first = {"status": "1", "data": [call_record(callee="0912000001"), call_record(callee="0912000002"),
                                     call_record(callee="0912000003", disposition="botivr")]}
    answer = post(receiver, "/webhooks/vbot/call-history", first)
    assert answer.status_code == 200
    assert answer.json()["records"] == 3 and answer.json()["records_new"] == 3

    # VBot resends the third record inside a new batch: a new delivery, but the record is stored once.
    second = {"status": "1", "data": [call_record(callee="0912000003", disposition="botivr"),
                                      call_record(callee="0912000004", disposition="NOANSWER")]}
    answer = post(receiver, "/webhooks/vbot/call-history", second)
    assert answer.status_code == 200
    assert (answer.json()["records"], answer.json()["records_new"]) == (2, 1)

    stored = events(db_url)
    assert [(e["kind"], e["record_count"]) for e in stored] == [("call_history", 3), ("call_history", 2)]
    records = call_records(db_url)
    assert [r["callee"] for r in records] == ["0912000001", "0912000002", "0912000003", "0912000004"]
    assert [r["disposition"] for r in records] == ["ANSWER", "ANSWER", "botivr", "NOANSWER"]
    assert records[0]["duration_seconds"] == 42
    assert _utc(records[0]["called_at"]) == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert json.loads(records[3]["record_json"])["disposition"] == "NOANSWER"


def test_the_generic_endpoint_recognises_each_kind_by_its_keys(receiver: str, db_url: str) -> None:
    assert post(receiver, "/webhooks/vbot", autocall_body()).json()["kind"] == "autocall"
    assert post(receiver, "/webhooks/vbot", {"data": [call_record()]}).json()["kind"] == "call_history"
    assert [(e["kind"], e["endpoint"]) for e in events(db_url)] == [("autocall", "auto"), ("call_history", "auto")]


def test_duplicates_are_acknowledged_and_stored_once(receiver: str, db_url: str) -> None:
    first = post(receiver, "/webhooks/vbot/autocall", autocall_body())
    # Same call, other key order, spacing and time notation (ISO, UTC): the same dedupe key.
    again = autocall_body(create_at="2026-11-26T02:15:00Z", postage=800)
    raw = json.dumps(dict(reversed(list(again.items()))), indent=2).encode()
    second = post(receiver, "/webhooks/vbot", raw)
    history = {"data": [call_record()], "status": "1"}
    post(receiver, "/webhooks/vbot/call-history", history)
    third = post(receiver, "/webhooks/vbot/call-history", json.dumps(dict(reversed(history.items()))).encode())

    assert first.json()["status"] == "stored"
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "kind": "autocall", "event_id": first.json()["event_id"]}
    assert third.status_code == 200 and third.json()["status"] == "duplicate"
    assert [e["kind"] for e in events(db_url)] == ["autocall", "call_history"]
    assert len(call_records(db_url)) == 1
    metrics = requests.get(receiver + "/metrics", timeout=10).text
    assert 'vbotflow_webhook_duplicates_total{kind="autocall"} 1.0' in metrics
    assert 'vbotflow_webhook_duplicates_total{kind="call_history"} 1.0' in metrics


def test_unknown_status_codes_are_kept_not_rejected(receiver: str, db_url: str) -> None:
    answer = post(receiver, "/webhooks/vbot/autocall", autocall_body(status=999))
    assert answer.status_code == 200
    assert events(db_url)[0]["status_code"] == 999


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/webhooks/vbot/autocall", b"not json", "body is not JSON: Expecting value at line 1 column 1"),
        ("/webhooks/vbot/autocall", b"", "body is not JSON: Expecting value at line 1 column 1"),
        ("/webhooks/vbot/autocall", b'\xff\xfe{"campaign_id": 1}', "body is not UTF-8 (byte 0)"),
        ("/webhooks/vbot/autocall", b"[1, 2]", "body must be a JSON object (got array)"),
        ("/webhooks/vbot/autocall", b'{"campaign_id": 1, "phone": "0912345678"}', "missing key(s): create_at, status"),
        ("/webhooks/vbot/autocall", json.dumps(autocall_body(campaign_id="abc")).encode(),
         "campaign_id must be an integer (got string)"),
        ("/webhooks/vbot/autocall", json.dumps(autocall_body(phone=912345678)).encode(),
         "phone must be a string (got number)"),
        ("/webhooks/vbot/autocall", json.dumps(autocall_body(status=True)).encode(),
         "status must be an integer (got boolean)"),
        ("/webhooks/vbot/autocall", json.dumps(autocall_body(create_at="hôm qua")).encode(),
         "create_at is not a date (MM/dd/yyyy HH:mm:ss or ISO 8601)"),
        ("/webhooks/vbot/call-history", b'{"status": "1"}', "missing key(s): data"),
        ("/webhooks/vbot/call-history", b'{"data": "none"}', "data must be a list of records (got string)"),
        ("/webhooks/vbot/call-history", b'{"data": [{"caller": {"a": 1}}]}',
         "data[0].caller must be a string or a list of strings"),
        ("/webhooks/vbot/call-history", b'{"data": [{}, 7]}', "data[1] must be an object (got number)"),
        ("/webhooks/vbot", b'{"hello": "world"}',
         "neither an auto-call result (campaign_id, ...) nor a call history (data)"),
    ],
)
def test_a_malformed_body_is_kept_as_a_dead_letter_and_answered_400(
        receiver: str, db_url: str, path: str, body: bytes, detail: str) -> None:
    answer = post(receiver, path, body)

    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_body", "detail": detail, "stored": True,
                             "event_id": answer.json()["event_id"]}
    [event] = events(db_url)
    assert (event["kind"], event["parse_error"], event["body"]) == ("invalid", detail, body)
    assert event["event_id"] == answer.json()["event_id"]

    again = post(receiver, path, body)  # the same bad body again: 400 again, kept once
    assert again.status_code == 400 and again.json()["event_id"] == event["event_id"]
    assert len(events(db_url)) == 1


@pytest.mark.parametrize(
    ("how", "kwargs"),
    [
        ("header", {"token": TOKEN}),
        ("header, the previous token during a rotation", {"token": OLD_TOKEN}),
        ("bearer", {"token": None, "headers": {"Authorization": f"Bearer {TOKEN}"}}),
        ("query string", {"token": None, "params": {"token": TOKEN}}),
    ],
)
def test_each_way_of_presenting_the_token_is_accepted(receiver: str, db_url: str, how: str, kwargs: dict) -> None:
    assert post(receiver, "/webhooks/vbot/autocall", autocall_body(), **kwargs).status_code == 200, how
    assert len(events(db_url)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": None},
        {"token": "tok-wrong"},
        {"token": TOKEN[:-1]},
        {"token": None, "headers": {"Authorization": f"Basic {TOKEN}"}},
        {"token": None, "params": {"token": ""}},
    ],
)
def test_a_missing_or_wrong_token_gets_401_and_nothing_is_stored(receiver: str, db_url: str, kwargs: dict) -> None:
    answer = post(receiver, "/webhooks/vbot/autocall", autocall_body(), **kwargs)

    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized", "detail": "missing or wrong webhook token"}
    assert events(db_url) == []
    assert 'vbotflow_webhook_rejected_total{reason="unauthorized"} 1.0' in requests.get(
        receiver + "/metrics", timeout=10).text


def test_a_body_over_the_size_cap_gets_413_and_nothing_is_stored(receiver: str, db_url: str) -> None:
    padding = "x" * (1024 * 1024)
    answer = post(receiver, "/webhooks/vbot/autocall", autocall_body(description=padding))

    assert answer.status_code == 413
    assert answer.json() == {"error": "too_large", "detail": "body is larger than 1048576 bytes"}
    assert events(db_url) == []
    assert post(receiver, "/webhooks/vbot/autocall", autocall_body(description=padding[:900_000])).status_code == 200


def test_with_a_signing_secret_only_signed_deliveries_are_stored(db_url: str, tmp_path: Path) -> None:
    config = {"DB_URL": db_url, "WEBHOOK_TOKENS": (TOKEN,), "SIGNING_SECRET": SIGNING_SECRET,
              "SPOOL_DIR": str(tmp_path / "spool"), "SPOOL_RETRY_SECONDS": 0}
    body = json.dumps(autocall_body()).encode()
    now = int(time.time())
    signature = Webhook(SIGNING_SECRET).sign("msg_1", now, body)
    signed = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}

    with werkzeug_server(config) as url:
        unsigned = post(url, "/webhooks/vbot/autocall", body)
        tampered = post(url, "/webhooks/vbot/autocall", body.replace(b"2932", b"2933"), headers=signed)
        good = post(url, "/webhooks/vbot/autocall", body, headers=signed)

    assert unsigned.status_code == 401
    assert unsigned.json()["detail"] == (
        "bad webhook signature: missing webhook-id, webhook-timestamp or webhook-signature")
    assert tampered.status_code == 401
    assert tampered.json()["detail"] == "bad webhook signature: no matching v1 signature"
    assert good.status_code == 200
    [event] = events(db_url)
    assert event["body"] == body
    assert json.loads(event["headers_json"])["webhook-signature"] == signature


def test_health_reports_the_database_and_the_spool(receiver: str) -> None:
    answer = requests.get(receiver + "/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "spool_depth": 0}


def test_metrics_count_each_outcome_in_prometheus_text(receiver: str) -> None:
    post(receiver, "/webhooks/vbot/autocall", autocall_body())
    post(receiver, "/webhooks/vbot/autocall", b"{")
    post(receiver, "/webhooks/vbot/autocall", autocall_body(), token="nope")

    answer = requests.get(receiver + "/metrics", timeout=10)
    assert answer.headers["Content-Type"].startswith("text/plain")
    lines = answer.text.splitlines()
    for expected in ['vbotflow_webhook_received_total{endpoint="autocall"} 3.0',
                     'vbotflow_webhook_stored_total{kind="autocall"} 1.0',
                     'vbotflow_webhook_stored_total{kind="invalid"} 1.0',
                     'vbotflow_webhook_rejected_total{reason="invalid_body"} 1.0',
                     'vbotflow_webhook_rejected_total{reason="unauthorized"} 1.0',
                     "vbotflow_webhook_spooled_total 0.0",
                     'vbotflow_webhook_request_seconds_bucket{le="+Inf"} 3.0',
                     "vbotflow_webhook_spool_depth 0.0"]:
        assert expected in lines


def test_the_openapi_document_describes_every_endpoint(receiver: str) -> None:
    document = requests.get(receiver + "/openapi.json", timeout=10).json()
    assert set(document["paths"]) == {"/webhooks/vbot/autocall", "/webhooks/vbot/call-history", "/webhooks/vbot",
                                      "/healthz", "/metrics"}
    assert set(document["paths"]["/webhooks/vbot"]["post"]["responses"]) == {
        "200", "202", "400", "401", "408", "413", "503"}


def test_with_only_a_signing_secret_the_signature_alone_authenticates(db_url: str, tmp_path: Path) -> None:
    config = {"DB_URL": db_url, "WEBHOOK_TOKENS": (), "SIGNING_SECRET": SIGNING_SECRET,
              "SPOOL_DIR": str(tmp_path / "spool"), "SPOOL_RETRY_SECONDS": 0}
    body = json.dumps(autocall_body()).encode()
    now = int(time.time())
    signed = {"webhook-id": "msg_2", "webhook-timestamp": str(now),
              "webhook-signature": Webhook(SIGNING_SECRET).sign("msg_2", now, body)}
    with werkzeug_server(config) as url:
        assert post(url, "/webhooks/vbot/autocall", body, token=None, headers=signed).status_code == 200
        assert post(url, "/webhooks/vbot/autocall", body, token=None).status_code == 401
    assert len(events(db_url)) == 1


def test_with_neither_token_nor_secret_configured_every_delivery_is_refused(db_url: str, tmp_path: Path) -> None:
    config = {"DB_URL": db_url, "WEBHOOK_TOKENS": "", "SIGNING_SECRET": None, "SPOOL_DIR": str(tmp_path / "spool"),
              "SPOOL_RETRY_SECONDS": 0}
    with werkzeug_server(config) as url:
        for token in (None, "", "anything"):
            assert post(url, "/webhooks/vbot/autocall", autocall_body(), token=token).status_code == 401
    assert events(db_url) == []


LONE_SURROGATE = "1;\ud800;2"  # valid JSON as the escape "\ud800", but no Unicode character
_AUTOCALL_TEXT_FIELDS = [key for key, value in autocall_body().items() if isinstance(value, str)]
_RECORD_TEXT_FIELDS = [key for key, value in call_record().items() if isinstance(value, str)]


@pytest.mark.parametrize(
    ("path", "body"),
    [pytest.param("/webhooks/vbot/autocall", autocall_body(**{key: LONE_SURROGATE}), id=f"autocall.{key}")
     for key in _AUTOCALL_TEXT_FIELDS]
    + [pytest.param("/webhooks/vbot/call-history", {"status": "1", "data": [call_record(**{key: LONE_SURROGATE})]},
                    id=f"call_history.data[0].{key}") for key in _RECORD_TEXT_FIELDS]
    + [pytest.param("/webhooks/vbot/call-history", {"status": LONE_SURROGATE, "data": [call_record()]},
                    id="call_history.status"),
       pytest.param("/webhooks/vbot", autocall_body(**{"ghi_chú\ud800": "x"}), id="auto.a key")],
)
def test_a_lone_surrogate_in_any_string_is_kept_as_a_dead_letter_never_spooled(
        receiver: str, db_url: str, tmp_path: Path, path: str, body: dict) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as the escape \ud800
    assert b"\\ud800" in raw

    answer = post(receiver, path, raw)
    again = post(receiver, path, raw)

    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "invalid_body", "stored": True, "event_id": answer.json()["event_id"],
                             "detail": "body holds an unpaired surrogate escape (not Unicode text)"}
    assert again.status_code == 400 and again.json()["event_id"] == answer.json()["event_id"]
    [event] = events(db_url)
    assert (event["kind"], event["body"]) == ("invalid", raw)
    assert not list((tmp_path / "spool").glob("*.json"))
    assert requests.get(receiver + "/healthz", timeout=10).json() == {"status": "ok", "database": "ok",
                                                                      "spool_depth": 0}


def test_a_surrogate_pair_is_one_character_and_lands_normally(receiver: str, db_url: str) -> None:
    raw = json.dumps(autocall_body(action_log="1;\U0001f600;2")).encode()
    assert b"\\ud83d\\ude00" in raw
    answer = post(receiver, "/webhooks/vbot/autocall", raw)
    assert answer.status_code == 200 and answer.json()["status"] == "stored"
    [event] = events(db_url)
    assert (event["kind"], event["action_log"], event["body"]) == ("autocall", "1;\U0001f600;2", raw)
