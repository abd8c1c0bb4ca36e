"""The unchanged VBotHook against the VBot simulator: creates, every error answer, both token grants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.sim_http import (
    APPOINTMENT,
    MOBIFONE,
    STATIC_TOKEN,
    VIETTEL,
    fast_config,
    payment_contacts,
    sim_get,
)
from tests.integration.vbot_http import set_vbot_connection
from vbot_provider.exceptions import VBotAmbiguousError, VBotPermanentError, VBotTransientError
from vbot_provider.hooks.vbot import VBotHook
from vbotflow_dev.simulator import run_simulator_in_thread


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with run_simulator_in_thread(fast_config()) as base_url:
        yield base_url


def _hook(monkeypatch: pytest.MonkeyPatch, base_url: str, *, sleeps: list[float] | None = None,
          **conn: object) -> VBotHook:
    conn.setdefault("token", STATIC_TOKEN)
    conn_id = set_vbot_connection(monkeypatch, base_url, **conn)
    return VBotHook(conn_id, backoff_seconds=0.01, max_retries=2,
                    sleep=sleeps.append if sleeps is not None else (lambda _s: None))


def test_create_returns_the_new_campaign_id_and_the_simulator_keeps_the_payload(monkeypatch, sim_url) -> None:
    hook = _hook(monkeypatch, sim_url)
    first = hook.create_campaign(2932, "nhac_no_hook_a", payment_contacts([VIETTEL, MOBIFONE]))
    second = hook.create_campaign(2932, "nhac_no_hook_b", payment_contacts([VIETTEL]))

    assert second == first + 1  # campaign ids are sequential
    campaign = sim_get(sim_url, f"campaigns/{first}")
    assert campaign["payload"] == hook.build_create_body(2932, "nhac_no_hook_a", payment_contacts([VIETTEL, MOBIFONE]))
    assert (campaign["template_id"], campaign["contacts"]) == (2932, 2)


@pytest.mark.parametrize(
    ("template_id", "contacts", "message"),
    [
        (4040, payment_contacts([VIETTEL]), "campaign template 4040 does not exist"),
        (2932, [{"phone": VIETTEL, "name": "An", "amount": 1}], r"lacks field\(s\) due_date of template 2932"),
        (APPOINTMENT, [{"phone": VIETTEL, "appointment_at": "2026-12-01 09:00"}],
         r"lacks field\(s\) branch of template 3101"),
        (2932, [{"phone": VIETTEL, "amount": 1, "due_date": "x", "numberCall": "twice"}],
         "numberCall must be a whole number"),
    ],
)
def test_invalid_campaigns_are_refused_with_error_201_as_permanent(monkeypatch, sim_url, template_id, contacts,
                                                                    message) -> None:
    sleeps: list[float] = []
    with pytest.raises(VBotPermanentError, match=message) as raised:
        _hook(monkeypatch, sim_url, sleeps=sleeps).create_campaign(template_id, "bad", contacts)
    assert raised.value.error_code == 201
    assert sleeps == []  # never retried


@pytest.mark.parametrize(("extra", "message"), [({"vbot_id": "999"}, "vbotId 999 is not a known account"),
                                                 ({"group_code": "PR-OTHER"}, "is not in group PR-OTHER")])
def test_a_foreign_account_or_group_is_refused_with_error_201(monkeypatch, sim_url, extra, message) -> None:
    with pytest.raises(VBotPermanentError, match=message):
        _hook(monkeypatch, sim_url, **extra).create_campaign(2932, "x", payment_contacts([VIETTEL]))


def test_a_wrong_static_token_is_a_permanent_401(monkeypatch, sim_url) -> None:
    with pytest.raises(VBotPermanentError, match="HTTP 401.*check the access token") as raised:
        _hook(monkeypatch, sim_url, token="not-a-token").create_campaign(2932, "x", payment_contacts([VIETTEL]))
    assert raised.value.http_status == 401


@pytest.mark.parametrize(("fault", "http_status"), [("error_400_rate", 200), ("http_500_rate", 500)])
def test_injected_create_failures_are_transient_retried_and_create_nothing(monkeypatch, fault, http_status) -> None:
    with run_simulator_in_thread(fast_config(faults={fault: 1.0})) as base_url:
        sleeps: list[float] = []
        with pytest.raises(VBotTransientError) as raised:
            _hook(monkeypatch, base_url, sleeps=sleeps).create_campaign(2932, "x", payment_contacts([VIETTEL]))
        creates = sim_get(base_url, "creates")
        assert sim_get(base_url, "campaigns") == []
    assert raised.value.error_code == 400 and raised.value.http_status == http_status
    assert len(sleeps) == 2
    assert [c["fault"] for c in creates] == [fault.removesuffix("_rate")] * 3  # the try and two retries


def test_a_hang_after_the_body_was_read_is_ambiguous_and_the_campaign_exists(monkeypatch) -> None:
    config = fast_config(faults={"hang_rate": 1.0, "hang_seconds": 5.0})
    with run_simulator_in_thread(config) as base_url:
        hook = _hook(monkeypatch, base_url, timeout_seconds=0.3)
        with pytest.raises(VBotAmbiguousError, match="after the body was sent"):
            hook.create_campaign(2932, "treo", payment_contacts([VIETTEL]))
        (campaign,) = sim_get(base_url, "campaigns")
        (create,) = sim_get(base_url, "creates")
    assert campaign["name"] == "treo"  # the ambiguity is real: VBot did create it
    assert (create["fault"], create["answer"]["data"]) == ("hang", campaign["campaign_id"])


def test_password_grant_gets_a_token_the_create_accepts(monkeypatch, sim_url) -> None:
    before = len(sim_get(sim_url, "tokens"))
    hook = _hook(monkeypatch, sim_url, token=None, login="demo", password="demo-password")
    campaign_id = hook.create_campaign(2932, "by_password", payment_contacts([VIETTEL]))
    assert sim_get(sim_url, f"campaigns/{campaign_id}")["name"] == "by_password"
    assert sim_get(sim_url, "tokens")[before:] == [
        {"grant_type": "password", "ok": True, "user": "demo", "error": None}]


def test_a_short_lived_token_is_renewed_with_the_refresh_grant(monkeypatch) -> None:
    # expires_in 30 is inside the hook's 60 s margin: the second create must renew the token first.
    with run_simulator_in_thread(fast_config(accounts={"token_expires_in": 30})) as base_url:
        hook = _hook(monkeypatch, base_url, token=None, login="demo", password="demo-password")
        first = hook.create_campaign(2932, "a", payment_contacts([VIETTEL]))
        second = hook.create_campaign(2932, "b", payment_contacts([VIETTEL]))
        grants = sim_get(base_url, "tokens")
    assert second == first + 1
    assert [(g["grant_type"], g["ok"]) for g in grants] == [("password", True), ("refresh_token", True)]


def test_wrong_credentials_are_refused_as_permanent(monkeypatch, sim_url) -> None:
    hook = _hook(monkeypatch, sim_url, token=None, login="demo", password="wrong")
    with pytest.raises(VBotPermanentError, match="refused the password grant.*invalid_grant"):
        hook.create_campaign(2932, "x", payment_contacts([VIETTEL]))
