"""The VBot wire format, in one place: request bodies, response parsing, status classes.

See ``shared/vbot-api.md``. The JSON example of the vendor page is the wire format (camelCase);
the snake_case names of its table are prose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CREATE_CAMPAIGN_PATH = "/api/campaign/create"
TOKEN_PATH = "/token"  # noqa: S105 - a URL path, not a secret
HISTORY_PATH = "/api/crm/historycall/getAll"

# Keys VBot knows for every template; they go first, in this order, then custom fields sorted by
# name, so the same contact always yields the same bytes (and the same payload hash).
KNOWN_CONTACT_KEYS: tuple[str, ...] = ("phone", "name", "description", "numberCall")

ERROR_SUCCESS = 0
ERROR_INVALID_PARAMETERS = 201
ERROR_GENERIC = 400


def contact_fields(contact: Mapping[str, object]) -> list[dict[str, str]]:
    """One contact as VBot's ``fields`` list: key/value pairs, values as strings, stable order."""
    if not contact.get("phone"):
        raise ValueError("a contact needs a non-empty 'phone'")
    known = [k for k in KNOWN_CONTACT_KEYS if k in contact]
    custom = sorted(k for k in contact if k not in KNOWN_CONTACT_KEYS)
    fields = []
    for key in known + custom:
        value = contact[key]
        if value is None:
            continue
        fields.append({"key": str(key), "value": value if isinstance(value, str) else _as_text(value)})
    return fields


def _as_text(value: object) -> str:
    # bool before int: True is an int in Python, but VBot wants "true"/"false" text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_create_body(
    *,
    vbot_id: str,
    group_code: str,
    template_id: int,
    name: str,
    contacts: Sequence[Mapping[str, object]],
) -> dict[str, Any]:
    """The JSON body of ``POST /api/campaign/create``."""
    if not contacts:
        raise ValueError("a campaign needs at least one contact")
    return {
        "vbotId": str(vbot_id),
        "groupCode": str(group_code),
        "campaignId": int(template_id),
        "name": name,
        "phones": [{"fields": contact_fields(c)} for c in contacts],
    }


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent: compact, UTF-8, key order as built (stable)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def payload_sha256(body: Mapping[str, Any]) -> str:
    """Hash of the wire body; a rerun whose data changed has a different hash."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class CreateResult:
    """What a create answer says, read tolerantly."""

    status: int | None
    campaign_id: int | None
    error_code: int | None
    message: str

    @property
    def ok(self) -> bool:
        """A campaign exists and we know its id."""
        return self.status == 1 and self.campaign_id is not None and self.campaign_id > 0

    @property
    def claims_success_without_id(self) -> bool:
        """``status`` 1 with ``data`` "-1" or missing: the campaign may exist, its id is unknown."""
        return self.status == 1 and not self.ok


def _as_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def parse_create_response(payload: object) -> CreateResult:
    """Read a create answer: ``status`` decides, ``error`` is recorded but never overrides it.

    ``status`` may be 1 or "1"; ``data`` 123 or "123"; ``data`` "-1" means no campaign.
    """
    if not isinstance(payload, Mapping):
        return CreateResult(None, None, None, f"answer is not a JSON object: {type(payload).__name__}")
    return CreateResult(
        status=_as_int(payload.get("status")),
        campaign_id=_as_int(payload.get("data")),
        error_code=_as_int(payload.get("error")),
        message=str(payload.get("msg") or payload.get("message") or ""),
    )


# -- auto-call status codes (vbot-api.md 2b) -------------------------------------------------------

ANSWERED = 200
STATUS_NAMES: dict[int, str] = {
    200: "ANSWER", 2: "NO_ANSWER", 3: "BUSY", 4: "CANCEL", 101: "UNKNOWN_NUMBER", 102: "NO_HOTLINE_FOR_CARRIER",
    103: "BALANCE_TOO_LOW", 105: "PACKAGE_EXPIRED", 106: "CARRIER_NOT_SUPPORTED", 100: "SYSTEM_ERROR",
    -100: "SYSTEM_ERROR", 104: "UNKNOWN_ERROR",
}
# The class decides what happens next: retry later, suppress, alert, or look into it.
STATUS_CLASSES: dict[int, str] = {
    200: "answered", 2: "not_reached", 3: "not_reached", 4: "not_reached", 101: "bad_number", 102: "routing",
    103: "account", 105: "account", 106: "bad_number", 100: "vbot_error", -100: "vbot_error", 104: "vbot_error",
}
UNKNOWN_CLASS = "unknown"
OUTCOME_CLASSES = ("answered", "not_reached", "bad_number", "routing", "account", "vbot_error", UNKNOWN_CLASS)
ACCOUNT_ALERT_CODES = (103, 105)  # every call of the account fails: somebody must act
SUPPRESS_CODES = (101, 106)  # the number cannot be called with this account: never again

# Call-history dispositions (2a) as auto-call codes, for results fetched from the history API.
DISPOSITION_STATUS: dict[str, int] = {
    "ANSWER": 200, "NOANSWER": 2, "MISSCALL": 2, "BUSY": 3, "INCALL": 3, "CANCEL": 4, "INVALIDARGS": 101,
    "CHANUNAVAIL": 102, "CONGESTION": 100, "NORMAL_CLEARING": 100,
}
OPT_OUT_DISPOSITION = "DONTCALL"


def status_class(code: int | None) -> str:
    """The class of an auto-call status code; unknown codes are kept and classed ``unknown``."""
    return STATUS_CLASSES.get(code, UNKNOWN_CLASS) if code is not None else UNKNOWN_CLASS
