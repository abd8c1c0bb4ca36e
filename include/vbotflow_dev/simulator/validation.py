"""Check a create body as VBot does, and read it into a campaign request.

Anything VBot would refuse with ``error`` 201 (invalid parameters) raises ``InvalidCampaign``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vbotflow_dev.simulator.config import SimConfig, Template

REQUIRED_KEYS = ("vbotId", "groupCode", "campaignId", "name", "phones")


class InvalidCampaign(ValueError):
    """The create body would get ``error`` 201 from VBot."""


@dataclass(frozen=True)
class Contact:
    """One entry of ``phones``: its fields as a key → value mapping, in the order sent."""

    fields: Mapping[str, str]

    @property
    def phone(self) -> str:
        return self.fields["phone"]

    @property
    def name(self) -> str:
        return self.fields.get("name", "")

    @property
    def description(self) -> str:
        return self.fields.get("description", "")


@dataclass(frozen=True)
class CampaignRequest:
    """A valid create body, read."""

    vbot_id: str
    group_code: str
    template: Template
    name: str
    contacts: tuple[Contact, ...]
    number_calls: tuple[int, ...]  # per contact: how many times it may be called


def parse_create_body(raw: bytes, config: SimConfig) -> CampaignRequest:
    """Validate the raw body of ``POST /api/campaign/create``; raises ``InvalidCampaign``."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidCampaign(f"body is not JSON: {err.msg if hasattr(err, 'msg') else err}") from err
    if not isinstance(body, dict):
        raise InvalidCampaign("body is not a JSON object")
    for key in REQUIRED_KEYS:
        if body.get(key) in (None, "", []):
            raise InvalidCampaign(f"{key} is required")
    vbot_id = str(body["vbotId"])
    if vbot_id not in config.accounts.vbot_ids:
        raise InvalidCampaign(f"vbotId {vbot_id} is not a known account")
    template = config.template(_template_id(body["campaignId"]))
    if template is None:
        raise InvalidCampaign(f"campaign template {body['campaignId']} does not exist")
    group_code = str(body["groupCode"])
    if group_code != template.group_code:
        raise InvalidCampaign(f"campaign template {template.template_id} is not in group {group_code}")
    if not isinstance(body["name"], str):
        raise InvalidCampaign("name must be a string")
    if not isinstance(body["phones"], list):
        raise InvalidCampaign("phones must be a list")
    contacts = tuple(_contact(item, index, template) for index, item in enumerate(body["phones"]))
    number_calls = tuple(_number_call(c, index, config.dialing.default_number_call) for index, c in enumerate(contacts))
    return CampaignRequest(vbot_id=vbot_id, group_code=group_code, template=template, name=body["name"],
                           contacts=contacts, number_calls=number_calls)


def _template_id(value: Any) -> int:
    # The page's table says String, its example a number: both are accepted.
    if isinstance(value, bool):
        raise InvalidCampaign("campaignId must be a number")
    try:
        return int(str(value).strip())
    except ValueError as err:
        raise InvalidCampaign("campaignId must be a number") from err


def _contact(item: Any, index: int, template: Template) -> Contact:
    where = f"phones[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("fields"), list):
        raise InvalidCampaign(f"{where} needs a fields list")
    values: dict[str, str] = {}
    for pair in item["fields"]:
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str) or not isinstance(pair.get("value"), str):
            raise InvalidCampaign(f"{where}: every field needs a string key and a string value")
        values[pair["key"]] = pair["value"]
    if not values.get("phone", "").strip():
        raise InvalidCampaign(f"{where} has no phone")
    missing = [name for name in template.fields if not values.get(name, "").strip()]
    if missing:
        raise InvalidCampaign(f"{where} lacks field(s) {', '.join(missing)} of template {template.template_id}")
    return Contact(values)


def _number_call(contact: Contact, index: int, default: int) -> int:
    text = contact.fields.get("numberCall", "").strip()
    if not text:
        return default
    try:
        number = int(text)
    except ValueError as err:
        raise InvalidCampaign(f"phones[{index}]: numberCall must be a whole number") from err
    if number < 1:
        raise InvalidCampaign(f"phones[{index}]: numberCall must be at least 1")
    return number
