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
