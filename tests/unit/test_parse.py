"""Parsing VBot deliveries: kinds, dedupe keys, typed columns, and every reason a body is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from vbotflow.receiver.parse import canonical_json, parse_delivery


def _autocall(**changes: object) -> dict:
    body = {"campaign_id": 2932, "phone": "0912 345 678", "create_at": "11/26/2026 09:15:00", "status": 200}
    body.update(changes)
    return body


def _bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_an_autocall_result_yields_typed_columns() -> None:
    parsed = parse_delivery(_bytes(_autocall(status="-100", campaign_id="2932")), "autocall")
    assert parsed.kind == "autocall" and parsed.parse_error is None
    assert parsed.columns == {"vbot_campaign_id": 2932, "phone": "0912345678",
                              "called_at": datetime(2026, 11, 26, 2, 15, tzinfo=UTC), "status_code": -100,
                              "hotline": None, "duration_seconds": None, "postage": None, "service_charge": None,
                              "action_log": None}


@pytest.mark.parametrize(
    ("details", "typed"),
    [
        ({"hotline": "024 7300 1234", "time_call": 35, "postage": 770.1, "service_charge": "600",
          "action_log": "press:1"},
         {"hotline": "02473001234", "duration_seconds": 35, "postage": Decimal("770.10"),
          "service_charge": Decimal("600.00"), "action_log": "press:1"}),
        ({"time_call": "00:01:05", "postage": 0.1 + 0.2},
         {"hotline": None, "duration_seconds": 65, "postage": Decimal("0.30"), "service_charge": None,
          "action_log": None}),
        ({"time_call": "soon", "postage": "free", "service_charge": True, "action_log": ["x"]},
         {"hotline": None, "duration_seconds": None, "postage": None, "service_charge": None, "action_log": None}),
    ],
)
def test_autocall_costs_and_duration_are_typed_and_odd_values_kept_as_null(details, typed) -> None:
    parsed = parse_delivery(_bytes(_autocall(**details)), "autocall")
    assert parsed.kind == "autocall" and parsed.parse_error is None
    assert {k: parsed.columns[k] for k in typed} == typed


@pytest.mark.parametrize(("sent", "stored"), [
    ("0912 345 678", "0912345678"),
    ("0912\u00a0345\u00a0678", "0912345678"),  # a no-break space
    ("091\u200b2345\u2013678", "0912345678"),  # zero-width space, en dash
    ("\uff10\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", "0912345678"),  # full-width digits
    ("+84 912.345.678", "+84912345678"),  # the + is kept: it says a country code follows
    ("+912345678", "+912345678"),  # India: reconciliation must not take it for 0912345678
    ("912345678.0", "912345678"),  # a float's text is one number, not ten digits
    ("'0912345678", "0912345678"),
])
def test_the_phone_column_reads_digits_as_the_daily_list_does(sent: str, stored: str) -> None:
    parsed = parse_delivery(_bytes(_autocall(phone=sent)), "autocall")
    assert (parsed.kind, parsed.columns["phone"]) == ("autocall", stored)


def test_the_autocall_dedupe_key_is_campaign_phone_time_and_status() -> None:
    key = parse_delivery(_bytes(_autocall()), "autocall").dedupe_key
    # Other fields and notations of the same instant do not matter...
    same = _autocall(postage=1.5, create_at="2026-11-26T02:15:00+00:00")
    assert parse_delivery(_bytes(same), "auto").dedupe_key == key
    # ...each of the four does.
    for change in ({"campaign_id": 2933}, {"phone": "0912345679"}, {"create_at": "11/26/2026 09:15:01"},
                   {"status": 2}):
        assert parse_delivery(_bytes(_autocall(**change)), "autocall").dedupe_key != key


def test_call_history_records_are_typed_and_keyed_each() -> None:
    body = {"status": "1", "data": [
        {"date_create": "11/26/2026 10:00:00", "caller": ["02471000000", 84912], "callee": "0912345678",
         "time_call": "00:01:05", "disposition": "answer", "hotline_number": "024.7100.0000"},
        {"time_call": "n/a"},
    ]}
    parsed = parse_delivery(_bytes(body), "call_history")
    assert parsed.kind == "call_history" and parsed.columns == {"record_count": 2}
    first, second = parsed.records
    assert (first["caller"], first["callee"], first["hotline"]) == ("02471000000,84912", "0912345678", "02471000000")
    assert (first["duration_seconds"], first["disposition"]) == (65, "answer")
    assert first["called_at"] == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert (second["duration_seconds"], second["called_at"], second["record_index"]) == (None, None, 1)
    assert first["dedupe_key"] != second["dedupe_key"]
    assert json.loads(first["record_json"]) == body["data"][0]


def test_a_single_record_object_in_data_counts_as_one_record() -> None:
    parsed = parse_delivery(b'{"data": {"callee": "0912345678"}}', "call_history")
    assert parsed.columns == {"record_count": 1} and parsed.records[0]["callee"] == "0912345678"


def test_the_call_history_dedupe_key_ignores_key_order_and_spacing() -> None:
    a = parse_delivery(b'{"status": "1", "data": [{"b": 1, "a": 2}]}', "call_history")
    b = parse_delivery(b'{"data":[{"a":2,"b":1}],"status":"1"}', "call_history")
    assert a.dedupe_key == b.dedupe_key
    assert a.dedupe_key.startswith("call_history:")


def test_canonical_json_keeps_vietnamese_text_readable() -> None:
    assert canonical_json({"b": "Nguyễn", "a": [1]}) == '{"a":[1],"b":"Nguyễn"}'


@pytest.mark.parametrize(
    ("body", "endpoint", "reason"),
    [
        (b"\xc3\x28", "autocall", "body is not UTF-8 (byte 0)"),
        (b"{'a': 1}", "autocall",
         "body is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"[" * 50_000, "auto", "body is not JSON: nested too deeply"),
        (b'"text"', "auto", "body must be a JSON object (got string)"),
        (_bytes({"phone": "1"}), "autocall", "missing key(s): campaign_id, create_at, status"),
        (_bytes(_autocall(campaign_id=1.5)), "autocall", "campaign_id must be an integer (got number)"),
        (_bytes(_autocall(campaign_id=2**63)), "autocall", "campaign_id is out of range"),
        (_bytes(_autocall(status=[200])), "autocall", "status must be an integer (got array)"),
        (_bytes(_autocall(phone=None)), "autocall", "phone must be a string (got null)"),
        (_bytes(_autocall(phone="không có")), "autocall", "phone has no digits"),
        (_bytes(_autocall(phone="1" * 33)), "autocall", "phone is longer than 32 digits"),
        (_bytes(_autocall(phone="9.12346E+08")), "autocall",
         "phone cannot be read: scientific notation with digits lost (the spreadsheet rounded the number)"),
        (_bytes(_autocall(create_at=20261126)), "autocall", "create_at must be a string (got number)"),
        (_bytes(_autocall(create_at="")), "autocall", "create_at is missing"),
        (_bytes({"data": [{"date_create": "26/11/2026 10:00:00"}]}), "call_history",
         "data[0].date_create is not a date (MM/dd/yyyy HH:mm:ss or ISO 8601)"),
        (_bytes({"data": [{"disposition": "X" * 41}]}), "call_history",
         "data[0].disposition is longer than 40 characters"),
        (_bytes({"data": [{"type_call": True}]}), "call_history", "data[0].type_call must be a string (got boolean)"),
        (_bytes({"data": None}), "call_history", "data must be a list of records (got null)"),
        (_bytes(_autocall()), "call_history", "missing key(s): data"),
        (_bytes({"status": 1}), "auto", "neither an auto-call result (campaign_id, ...) nor a call history (data)"),
        (b'{"data": [{"callee": "\\ud800"}]}', "call_history",
         "body holds an unpaired surrogate escape (not Unicode text)"),
    ],
)
def test_malformed_bodies_are_invalid_with_the_reason(body: bytes, endpoint: str, reason: str) -> None:
    parsed = parse_delivery(body, endpoint)
    assert (parsed.kind, parsed.parse_error) == ("invalid", reason)
    assert parsed.dedupe_key.startswith("invalid:") and parsed.records == []


def test_nul_characters_are_dropped_from_typed_text_only() -> None:
    body = b'{"data": [{"callee": "09\\u000012", "disposition": "ANSWER\\u0000"}]}'
    [record] = parse_delivery(body, "call_history").records
    assert (record["callee"], record["disposition"]) == ("0912", "ANSWER")
    assert "\\u0000" in record["record_json"]
