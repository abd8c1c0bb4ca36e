"""Bearer tokens: static ones from the config, and the password and refresh-token grants of ``POST /token``."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vbotflow_dev.simulator.config import Accounts


class GrantError(ValueError):
    """A refused grant; ``code`` is the OAuth error name VBot answers with."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code


@dataclass(frozen=True)
class Grant:
    """A granted token pair."""

    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"Grant(expires_in={self.expires_in})"


class TokenStore:
    """Issues tokens and checks bearers; thread-safe."""

    def __init__(self, accounts: Accounts, clock: Callable[[], float] = time.monotonic) -> None:
        self._accounts = accounts
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}  # token -> expiry (clock)
        self._refresh: dict[str, str] = {}  # refresh token -> username
        self.grants: list[dict[str, object]] = []  # what was asked and answered; no secrets

    def grant(self, form: Mapping[str, str]) -> Grant:
        """Answer a token request; raises ``GrantError``."""
        grant_type = form.get("grant_type", "")
        try:
            user = self._user_for(grant_type, form)
        except GrantError as err:
            self._note(grant_type, ok=False, error=err.code)
            raise
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        expires_in = int(self._accounts.token_expires_in)
        with self._lock:
            self._access[access] = self._clock() + expires_in
            self._refresh[refresh] = user
        self._note(grant_type, ok=True, user=user)
        return Grant(access, refresh, expires_in)

    def _user_for(self, grant_type: str, form: Mapping[str, str]) -> str:
        if grant_type == "password":
            username, password = form.get("username", ""), form.get("password", "")
            if not username or not password:
                raise GrantError("invalid_request", "username and password are required")
            expected = self._accounts.users.get(username)
            if expected is None or not secrets.compare_digest(expected, password):
                raise GrantError("invalid_grant", "wrong username or password")
            return username
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            with self._lock:
                # Refresh tokens are single use: a renewal hands out a new one.
                user = self._refresh.pop(token, None)
            if user is None:
                raise GrantError("invalid_grant", "unknown or used refresh token")
            return user
        raise GrantError("unsupported_grant_type", "grant_type must be password or refresh_token")

    def is_valid_bearer(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a token VBot accepts now."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if any(secrets.compare_digest(token, static) for static in self._accounts.static_tokens):
            return True
        with self._lock:
            expiry = self._access.get(token)
        return expiry is not None and self._clock() < expiry

    def _note(self, grant_type: str, *, ok: bool, user: str | None = None, error: str | None = None) -> None:
        with self._lock:
            self.grants.append({"grant_type": grant_type, "ok": ok, "user": user, "error": error})
