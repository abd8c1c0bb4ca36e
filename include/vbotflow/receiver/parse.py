"""What a VBot delivery says: its kind, its dedupe key and typed columns, or why it is malformed.

Pure and total: ``parse_delivery`` never raises, so a parser bug can never cost a delivery — the
raw bytes are stored whatever it returns. Grain: one ``Parsed`` per delivery, with one entry in
``records`` per call-history record.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vbotflow.phone.rules import UnreadablePhone, dial_digits
from vbotflow.vbot.timestamps import parse_vbot_time
from vbotflow.vbot.values import parse_duration_seconds, parse_money

AUTOCALL_REQUIRED = ("campaign_id", "phone", "create_at", "status")
MAX_PHONE_DIGITS = 32
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1
_NON_DIGITS = re.compile(r"\D")
_INT_TEXT = re.compile(r"^\s*-?\d{1,19}\s*$")
# A JSON escape of a UTF-16 surrogate (\uD800-\uDFFF): paired it is one character, alone it is none.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class MalformedDelivery(ValueError):
    """The body is not what VBot's contract describes; the message is the dead-letter reason."""


@dataclass(frozen=True)
class Parsed:
    """A delivery understood: ``kind`` is 'autocall', 'call_history' or 'invalid'."""

    kind: str
    dedupe_key: str
    parse_error: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> str:
    """Key order and spacing fixed: the same JSON value always gives the same text (and hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _integer(obj: dict[str, Any], key: str, where: str, limit: int) -> int:
    value = obj[key]
    # VBot's pages type numbers loosely ("1" and 1 both occur): digit strings are accepted.
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT_TEXT.match(value):
        number = int(value)
    else:
        raise MalformedDelivery(f"{where}{key} must be an integer (got {_json_type(value)})")
    if abs(number) > limit:
        raise MalformedDelivery(f"{where}{key} is out of range")
    return number


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; the typed copy drops it, the raw body keeps it.
    return text.replace("\x00", "")


def _text(obj: dict[str, Any], key: str, where: str, max_length: int | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MalformedDelivery(f"{where}{key} must be a string (got {_json_type(value)})")
    if max_length is not None and len(value) > max_length:
        raise MalformedDelivery(f"{where}{key} is longer than {max_length} characters")
    return _clean(value)


def _time(obj: dict[str, Any], key: str, where: str, required: bool) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise MalformedDelivery(f"{where}{key} is missing")
        return None
    if not isinstance(value, str):
        raise MalformedDelivery(f"{where}{key} must be a string (got {_json_type(value)})")
    try:
        return parse_vbot_time(value)
    except ValueError as err:
        raise MalformedDelivery(f"{where}{key} is not a date (MM/dd/yyyy HH:mm:ss or ISO 8601)") from err


def _phone_list(obj: dict[str, Any], key: str, where: str) -> str | None:
    """``caller``/``callee`` may be a string or a list: kept as comma-separated text."""
    value = obj.get(key)
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise MalformedDelivery(f"{where}{key} must be a string or a list of strings")
        texts.append(_clean(str(item)))
    return ",".join(texts)


def parse_autocall(obj: dict[str, Any]) -> Parsed:
    """One auto-call attempt (vbot-api.md 2b); the dedupe key is campaign, phone, call time and status."""
    missing = [key for key in AUTOCALL_REQUIRED if key not in obj]
    if missing:
        raise MalformedDelivery(f"missing key(s): {', '.join(missing)}")
    campaign_id = _integer(obj, "campaign_id", "", MAX_BIGINT)
    status_code = _integer(obj, "status", "", MAX_INT)
    phone_value = obj["phone"]
    if not isinstance(phone_value, str):
        # A JSON number would have lost the leading 0 of a domestic number.
        raise MalformedDelivery(f"phone must be a string (got {_json_type(phone_value)})")
    try:
        # Plain ASCII digits (what VBot sends) are their own dial_digits: no separators, notes or notations.
        phone = phone_value if phone_value.isascii() and phone_value.isdigit() else dial_digits(phone_value)
    except UnreadablePhone as err:
        raise MalformedDelivery(f"phone cannot be read: {err}") from err
    if not phone.lstrip("+"):
        raise MalformedDelivery("phone has no digits")
    if len(phone) > MAX_PHONE_DIGITS:
        raise MalformedDelivery(f"phone is longer than {MAX_PHONE_DIGITS} digits")
    called_at = _time(obj, "create_at", "", required=True)
    identity = canonical_json([campaign_id, phone, called_at.isoformat(), status_code])
    return Parsed(
        kind="autocall",
        dedupe_key="autocall:" + _sha256(identity.encode()),
        columns={"vbot_campaign_id": campaign_id, "phone": phone, "called_at": called_at,
                 "status_code": status_code, **_autocall_details(obj)},
    )


def _autocall_details(obj: dict[str, Any]) -> dict[str, Any]:
    """Duration, costs, hotline and key presses: typed for reconciliation, never a reason to refuse.

    The dedupe key and the outcome do not depend on them, so an odd value is stored as NULL (the
    raw body keeps it) rather than dead-lettering the result of a call.
    """
    hotline = obj.get("hotline")
    action_log = obj.get("action_log")
    return {
        "hotline": _NON_DIGITS.sub("", str(hotline))[:MAX_PHONE_DIGITS] or None if hotline is not None else None,
        "duration_seconds": parse_duration_seconds(obj.get("time_call")),
        "postage": parse_money(obj.get("postage")),
        "service_charge": parse_money(obj.get("service_charge")),
        "action_log": _clean(action_log) if isinstance(action_log, str) else None,
    }


def _call_record(record: object, index: int) -> dict[str, Any]:
    where = f"data[{index}]."
    if not isinstance(record, dict):
        raise MalformedDelivery(f"data[{index}] must be an object (got {_json_type(record)})")
    hotline = _text(record, "hotline_number", where)
    record_json = canonical_json(record)
    return {
        "record_index": index,
        "dedupe_key": "record:" + _sha256(_utf8(record_json)),
        "called_at": _time(record, "date_create", where, required=False),
        "hotline": _NON_DIGITS.sub("", hotline)[:MAX_PHONE_DIGITS] if hotline else None,
        "caller": _phone_list(record, "caller", where),
        "callee": _phone_list(record, "callee", where),
        "type_call": _text(record, "type_call", where, 32),
        # Kept as sent (VBot mixes cases, and adds values like 'botivr'); compare case-insensitively.
        "disposition": _text(record, "disposition", where, 40),
        "duration_seconds": parse_duration_seconds(record.get("time_call")),
        "record_file": _text(record, "record_file", where),
        "record_json": record_json,
    }


def parse_call_history(obj: dict[str, Any]) -> Parsed:
    """A call-history delivery (vbot-api.md 2a): ``data`` holds the records (a single object counts as one)."""
    if "data" not in obj:
        raise MalformedDelivery("missing key(s): data")
    data = obj["data"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise MalformedDelivery(f"data must be a list of records (got {_json_type(data)})")
    records = [_call_record(record, index) for index, record in enumerate(data)]
    return Parsed(
        kind="call_history",
        dedupe_key="call_history:" + _sha256(_utf8(canonical_json(obj))),
        columns={"record_count": len(records)},
        records=records,
    )


def _decode(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedDelivery(f"body is not UTF-8 (byte {err.start})") from err
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise MalformedDelivery(f"body is not JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    except RecursionError as err:
        raise MalformedDelivery("body is not JSON: nested too deeply") from err
    if not isinstance(value, dict):
        raise MalformedDelivery(f"body must be a JSON object (got {_json_type(value)})")
    if _SURROGATE_ESCAPE.search(text):
        # Decoded, "\ud800" alone is no character: no database could store it as text.
        _utf8(canonical_json(value))
    return value


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        # "\ud800" is valid JSON syntax but no character: it could not be stored as text or hashed.
        raise MalformedDelivery("body holds an unpaired surrogate escape (not Unicode text)") from err


def _invalid(body: bytes, reason: str) -> Parsed:
    return Parsed(kind="invalid", dedupe_key="invalid:" + _sha256(body), parse_error=reason)


def parse_delivery(body: bytes, endpoint: str) -> Parsed:
    """Understand ``body`` as posted to ``endpoint`` ('autocall', 'call_history' or 'auto')."""
    try:
        obj = _decode(body)
        kind = endpoint
        if endpoint == "auto":
            if "campaign_id" in obj:
                kind = "autocall"
            elif "data" in obj:
                kind = "call_history"
            else:
                raise MalformedDelivery(
                    "neither an auto-call result (campaign_id, ...) nor a call history (data)")
        return parse_autocall(obj) if kind == "autocall" else parse_call_history(obj)
    except MalformedDelivery as err:
        return _invalid(body, str(err))
    except Exception as err:  # noqa: BLE001 - a parser bug must dead-letter the body, never lose it
        return _invalid(body, f"unexpected parser error: {type(err).__name__}")
