"""Helpers for tests that run the VBot simulator on loopback and talk to it over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from vbotflow_dev.simulator import SimConfig, default_config

STATIC_TOKEN = "sim-static-token"
AUTH = {"Authorization": f"Bearer {STATIC_TOKEN}"}
VBOT_ID = "44634001"
GROUP_CODE = "PR2023030714401"
PAYMENT_REMINDER = 2932
APPOINTMENT = 3101

# Numbers of every kind the simulator tells apart: carriers it dials, one it has no hotline for (itel),
# one it does not support (gmobile), and one no carrier uses.
VIETTEL, VINAPHONE, MOBIFONE, VIETNAMOBILE = "0912345678", "0387654321", "0901234567", "0921234567"
ITEL, GMOBILE, NO_CARRIER = "0871234567", "0991234567", "0111234567"


def fast_config(**changes: Any) -> SimConfig:
    """The demo config with a fixed simulated clock, a day of dialing in well under a second, and quick retries."""
    base: dict[str, Any] = {"dialing": {"time_scale": 1_000_000.0, "start_at": "2026-11-26T08:00:00"},
                            "delivery": {"backoff_seconds": 0.01, "backoff_max_seconds": 0.05}}
    for section, values in changes.items():
        if isinstance(values, Mapping) and isinstance(base.get(section), dict):
            base[section] = {**base[section], **values}
        else:
            base[section] = values
    return default_config(**base)


def payment_contacts(phones: Sequence[str], number_call: int | None = None) -> list[dict[str, object]]:
    """Contacts for template 2932, with the custom fields it declares."""
    contacts: list[dict[str, object]] = []
    for n, phone in enumerate(phones):
        contact: dict[str, object] = {"phone": phone, "name": f"Khách {n}", "amount": 150000 + n,
                                      "due_date": "2026-12-01"}
        if number_call is not None:
            contact["numberCall"] = number_call
        contacts.append(contact)
    return contacts


def create_body(phones: Sequence[str], *, number_call: int | None = None, name: str = "nhac_no_1",
                template_id: int = PAYMENT_REMINDER) -> dict[str, Any]:
    from vbotflow.vbot.api import build_create_body

    return build_create_body(vbot_id=VBOT_ID, group_code=GROUP_CODE, template_id=template_id, name=name,
                             contacts=payment_contacts(phones, number_call))


def post_create(base_url: str, body: Any, headers: Mapping[str, str] = AUTH) -> requests.Response:
    return requests.post(f"{base_url}/api/campaign/create", json=body, headers=dict(headers), timeout=10)


def sim_get(base_url: str, path: str, **params: Any) -> Any:
    response = requests.get(f"{base_url}/_sim/{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def wait_idle(base_url: str) -> None:
    assert sim_get(base_url, "idle", wait=20)["idle"], "the simulator did not finish dialing and delivering"
