"""De-identifying VBot bodies and free text: pure functions, no database, no files.

Two policies say what goes. ``PersonPolicy`` (an erasure) knows one person's numbers and names and
touches only them. ``EveryonePolicy`` (retention) treats every number in a phone field as personal.
Either way, in a JSON object that is about a person (one of its phone fields is theirs), the phone
becomes its pseudonym and every field that is not one reconciliation and the KPIs read (campaign,
time, status, duration, costs, hotline, disposition) is emptied: the name, the description, the key
presses, the recording's address, custom fields. A body that is not JSON is searched as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from vbotflow.privacy.matching import PHONE_LIKE, PhoneFinder
from vbotflow.privacy.pseudonyms import Pseudonymiser, canonical_phone

ERASED = "[erased]"
# Fields of VBot's bodies (vbot-api.md 2a, 2b) that describe the call, not the person: kept.
CALL_KEYS = frozenset({
    "campaign_id", "create_at", "hotline", "status", "time_call", "postage", "service_charge", "event_data",
    "hotline_number", "date_create", "type_call", "source", "disposition", "message", "error", "data",
})
PHONE_KEYS = frozenset({"phone", "caller", "callee"})
# Kept values that are never free text to search: times, amounts, codes, the company's own hotline.
_NOT_TEXT_KEYS = frozenset({"campaign_id", "create_at", "hotline", "status", "time_call", "postage",
                            "service_charge", "hotline_number", "date_create", "error"})
RETENTION_BODY_NOTE = b"[removed by retention: a body that is not JSON, older than the retention period]"


class Policy(Protocol):
    """What to replace, and with what."""

    def owns(self, number: str) -> bool:
        """Whether one number (a whole phone field, or one item of a list of them) is personal data here."""

    def number(self, text: str) -> str:
        """The replacement of one number this policy owns."""

    def free_text(self, text: str) -> str:
        """Text outside phone fields with what this policy knows of the person replaced."""

    def raw(self, body: bytes) -> bytes:
        """A body that is not JSON, de-identified."""


class PersonPolicy:
    """One person (an erasure): their numbers in any spelling, and the names they were sent with."""

    def __init__(self, phones: Iterable[str], names: Iterable[str], pseudonymiser: Pseudonymiser) -> None:
        self.finder = PhoneFinder(phones)
        self.pseudonymiser = pseudonymiser
        # Short names ("An") would hit other text; a full name is specific enough to look for anywhere.
        self.names = sorted({n.strip() for n in names if n and len(n.strip()) >= 4}, key=len, reverse=True)

    def _is_theirs(self, text: str) -> bool:
        return canonical_phone("".join(ch for ch in text if ch.isdigit())) in self.finder.phones

    def owns(self, number: str) -> bool:
        return self._is_theirs(number) or self.finder.found_in(number)

    def number(self, text: str) -> str:
        # The whole field when it is the number (as the receiver reads it: its digits), else each spelling in it.
        return self.pseudonymiser.phone(text) if self._is_theirs(text) else self._numbers_in(text)

    def _numbers_in(self, text: str) -> str:
        return self.finder.sub(self.pseudonymiser.phone, text)

    def free_text(self, text: str) -> str:
        text = self._numbers_in(text)
        for name in self.names:
            text = text.replace(name, ERASED)
        return text

    def raw(self, body: bytes) -> bytes:
        text = body.decode("utf-8", errors="surrogateescape")
        return self.free_text(text).encode("utf-8", errors="surrogateescape")

    def mentioned_in(self, data: bytes | str) -> bool:
        """Whether the number or a name appears in raw bytes or text (a cheap test before parsing)."""
        if self.finder.found_in(data):
            return True
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else data
        return any(name in text for name in self.names)


class EveryonePolicy:
    """Everyone (retention): every number in a phone field is personal, whoever it is."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self.pseudonymiser = pseudonymiser

    def owns(self, number: str) -> bool:
        return any(ch.isdigit() for ch in number)

    def number(self, text: str) -> str:
        return self.pseudonymiser.phone(text)

    def free_text(self, text: str) -> str:
        return PHONE_LIKE.sub(lambda m: self.pseudonymiser.phone(m.group(0)), text)

    def raw(self, body: bytes) -> bytes:
        # Names cannot be told apart from anything else in a body that is not JSON: it goes whole.
        return RETENTION_BODY_NOTE


def _phone_field(value: Any, policy: Policy) -> tuple[Any, bool]:
    """A phone field (a number, a comma-separated string of numbers, or a list): (new value, was it theirs)."""
    if isinstance(value, list):
        pairs = [_phone_field(item, policy) for item in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value, False
    parts = str(value).split(",")
    owned = [policy.owns(part) for part in parts]
    if not any(owned):
        return value, False
    return ",".join(policy.number(p) if o else p for p, o in zip(parts, owned, strict=True)), True


def deidentify_document(value: Any, policy: Policy, key: str | None = None) -> Any:
    """A JSON value with the policy's person(s) removed (see the module doc)."""
    if isinstance(value, dict):
        replaced = {k: _phone_field(v, policy) for k, v in value.items() if k in PHONE_KEYS}
        about_a_person = any(owned for _, owned in replaced.values())
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in replaced:
                out[k] = replaced[k][0]
            elif about_a_person and k not in CALL_KEYS:
                out[k] = None
            else:
                out[k] = deidentify_document(v, policy, k)
        return out
    if isinstance(value, list):
        return [deidentify_document(item, policy, key) for item in value]
    if key in _NOT_TEXT_KEYS:
        return value
    if isinstance(value, str):
        return policy.free_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = policy.free_text(str(value))
        return value if text == str(value) else text
    return value


def serialise(document: Any) -> bytes:
    """Compact UTF-8 JSON in the document's own key order."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def deidentify_body(body: bytes, policy: Policy) -> bytes | None:
    """A raw webhook body de-identified, or None when the policy finds nothing to change in it."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        document = None
    if isinstance(document, dict):
        new = deidentify_document(document, policy)
        return None if new == document else serialise(new)
    new_raw = policy.raw(body)
    return None if new_raw == body else new_raw


def deidentify_create_body(body: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A VBot create body (a preview's payload): a contact whose phone is the person's keeps only
    the pseudonym and ``numberCall``."""
    out = dict(body)
    contacts = []
    for contact in body.get("phones", []):
        fields = contact.get("fields", [])
        phone = next((f.get("value") for f in fields if f.get("key") == "phone"), None)
        if phone is not None and policy.owns(str(phone)):
            fields = [{"key": "phone", "value": policy.number(str(phone))}] + [
                f for f in fields if f.get("key") == "numberCall"]
        else:
            fields = [{**f, "value": policy.free_text(f["value"])} if isinstance(f.get("value"), str) else f
                      for f in fields]
        contacts.append({**contact, "fields": fields})
    if "phones" in body:
        out["phones"] = contacts
    return out
