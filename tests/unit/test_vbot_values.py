"""Durations and money as VBot writes them (vbot-api.md 2a: Strings; 2b: Int and Double), read once
for the receiver and the history backfill alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from vbotflow.receiver.parse import parse_delivery
from vbotflow.reconcile.backfill import attempt_from_record
from vbotflow.vbot.values import parse_duration_seconds, parse_money

DURATIONS = [
    (35, 35),                  # 2b: Int
    (0, 0),
    (35.0, 35),                # an Int that went through a float on VBot's side
    ("35", 35),                # 2a: String
    (" 35 ", 35),
    ("0", 0),
    ("00:00:35", 35),          # 2a: a clock
    ("00:01:05", 65),
    ("1:02:03", 3723),
    ("0:35", 35),              # minutes:seconds
    ("12:00", 720),
    (35.5, None),              # not whole seconds
    (-1, None),
    ("-35", None),
    ("00:00:75", None),        # no clock has 75 seconds
    ("00:61:00", None),
    ("soon", None),
    ("", None),
    ("３５", None),             # full-width digits are not VBot's
    (True, None),
    (None, None),
    ([35], None),
    (2**31, None),
]

MONEY = [
    (770.1, Decimal("770.10")),        # 2b: Double
    (770, Decimal("770.00")),
    (0, Decimal("0.00")),
    (0.1 + 0.2, Decimal("0.30")),      # read by its decimal text, not its binary value
    ("770.1", Decimal("770.10")),      # 2a: String
    ("770.10", Decimal("770.10")),
    (" 1100 ", Decimal("1100.00")),
    ("600", Decimal("600.00")),
    ("1e3", Decimal("1000.00")),
    (Decimal("12.345"), Decimal("12.34")),  # banker's rounding of the third decimal, as NUMERIC(16,2) gets it
    ("1,100", None),                   # thousands separator or decimal comma: not guessed
    ("free", None),
    ("", None),
    ("NaN", None),
    (float("inf"), None),
    ("1e13", None),
    (True, None),
    (None, None),
    ({"amount": 1}, None),
]


@pytest.mark.parametrize(("value", "seconds"), DURATIONS)
def test_durations_in_every_documented_form(value: object, seconds: int | None) -> None:
    assert parse_duration_seconds(value) == seconds


@pytest.mark.parametrize(("value", "amount"), MONEY)
def test_money_in_every_documented_form(value: object, amount: Decimal | None) -> None:
    assert parse_money(value) == amount


def _history_record(**changes: object) -> dict:
    record = {"hotline_number": "02473001234", "date_create": "11/26/2026 09:30:00", "time_call": "00:00:35",
              "type_call": "CALLOUT", "caller": "02473001234", "callee": "0912000001", "postage": "770.1",
              "service_charge": "600", "source": "autocall:501", "disposition": "ANSWER", "error": 0}
    record.update(changes)
    return record


@pytest.mark.parametrize(("time_call", "postage", "service_charge", "seconds", "cost", "service"), [
    ("00:00:35", "770.1", "600", 35, Decimal("770.10"), Decimal("600.00")),
    ("35", 770.1, 600.0, 35, Decimal("770.10"), Decimal("600.00")),
    ("0:35", "770", None, 35, Decimal("770.00"), Decimal("0.00")),  # 2a names no service charge
    ("n/a", "free", "x", 0, Decimal("0.00"), Decimal("0.00")),      # unreadable: counted as nothing
])
def test_a_backfilled_call_is_read_like_a_delivered_one(time_call, postage, service_charge, seconds, cost,
                                                        service) -> None:
    record = _history_record(time_call=time_call, postage=postage, service_charge=service_charge)
    attempt = attempt_from_record(record, 501, "0912000001", None, datetime.now(UTC))
    assert attempt is not None
    assert (attempt["duration_seconds"], attempt["postage"], attempt["service_charge"]) == (seconds, cost, service)

    # The receiver reads the same values of a delivery the same way.
    delivered = parse_delivery(json.dumps({"data": [record]}).encode(), "call_history").records[0]
    assert delivered["duration_seconds"] == (seconds if time_call != "n/a" else None)
    autocall = parse_delivery(json.dumps({
        "campaign_id": 501, "phone": "0912000001", "create_at": "11/26/2026 09:30:00", "status": 200,
        "time_call": time_call, "postage": postage, "service_charge": service_charge}).encode(), "autocall")
    assert (autocall.columns["duration_seconds"] or 0, autocall.columns["postage"] or Decimal("0.00"),
            autocall.columns["service_charge"] or Decimal("0.00")) == (seconds, cost, service)
