"""Bearer tokens of the simulator: static tokens, both grants, expiry, single-use refresh tokens."""

from __future__ import annotations

import pytest

from vbotflow_dev.simulator.auth import GrantError, TokenStore
from vbotflow_dev.simulator.config import Accounts


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def store(clock: _Clock) -> TokenStore:
    return TokenStore(Accounts(users={"demo": "demo-password"}, static_tokens=("static-1",), token_expires_in=60),
                      clock)


@pytest.mark.parametrize(("header", "valid"), [
    ("Bearer static-1", True), ("bearer static-1", True), ("Bearer static-2", False), ("static-1", False),
    ("Basic static-1", False), ("Bearer ", False), (None, False)])
def test_static_tokens_are_accepted_as_bearers_only(store, header, valid) -> None:
    assert store.is_valid_bearer(header) is valid


def test_a_password_grant_token_is_valid_until_it_expires(store, clock) -> None:
    grant = store.grant({"grant_type": "password", "username": "demo", "password": "demo-password"})
    assert grant.expires_in == 60 and grant.access_token != grant.refresh_token
    clock.now += 59
    assert store.is_valid_bearer(f"Bearer {grant.access_token}")
    clock.now += 1
    assert not store.is_valid_bearer(f"Bearer {grant.access_token}")
    assert grant.access_token not in repr(grant)


def test_a_refresh_token_renews_once(store) -> None:
    first = store.grant({"grant_type": "password", "username": "demo", "password": "demo-password"})
    renewed = store.grant({"grant_type": "refresh_token", "refresh_token": first.refresh_token})
    assert store.is_valid_bearer(f"Bearer {renewed.access_token}")
    with pytest.raises(GrantError, match="unknown or used refresh token") as raised:
        store.grant({"grant_type": "refresh_token", "refresh_token": first.refresh_token})
    assert raised.value.code == "invalid_grant"
    assert [(g["grant_type"], g["ok"]) for g in store.grants] == [("password", True), ("refresh_token", True),
                                                                  ("refresh_token", False)]


@pytest.mark.parametrize(
    ("form", "code"),
    [({"grant_type": "password", "username": "demo", "password": "nope"}, "invalid_grant"),
     ({"grant_type": "password", "username": "ghost", "password": "demo-password"}, "invalid_grant"),
     ({"grant_type": "password", "username": "demo"}, "invalid_request"),
     ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
     ({}, "unsupported_grant_type")],
)
def test_refused_grants_name_the_oauth_error(store, form, code) -> None:
    with pytest.raises(GrantError) as raised:
        store.grant(form)
    assert raised.value.code == code
    assert "nope" not in str(store.grants)
