"""Helpers for tests that talk HTTP to a stand-in VBot on loopback."""

from __future__ import annotations

import json
import uuid

import pytest


def set_vbot_connection(monkeypatch: pytest.MonkeyPatch, base_url: str, *, token: str | None = "static-token-abc",
                        login: str | None = None, password: str | None = None, **extra: object) -> str:
    """Define a ``vbot`` connection through the environment; returns its (unique) conn id."""
    conn_id = f"vbot_{uuid.uuid4().hex[:8]}"
    conn = {"conn_type": "vbot", "host": base_url,
            "extra": {"vbot_id": "44634001", "group_code": "PR2023030714401", **extra}}
    if login:
        conn["login"] = login
        conn["password"] = password
    elif token:
        conn["password"] = token
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id
