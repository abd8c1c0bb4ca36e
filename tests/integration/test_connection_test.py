"""The Test button of Airflow's connection page: VBot against the simulator and loopback servers, databases for real.

Each answer must say plainly what is wrong, never carry a secret, and change nothing anywhere.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.integration.sim_http import GROUP_CODE, STATIC_TOKEN, VBOT_ID, fast_config
from tests.integration.vbot_http import set_vbot_connection
from vbot_provider.hooks.sql import SqlAlchemyUrlHook
from vbot_provider.hooks.vbot import VBotHook
from vbotflow_dev.simulator import run_simulator_in_thread

HISTORY = "/api/crm/historycall/getAll"


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with run_simulator_in_thread(fast_config()) as base_url:
        yield base_url


def _sim(sim_url: str, path: str):
    return requests.get(f"{sim_url}/_sim/{path}", timeout=10).json()


def _test(monkeypatch, base_url: str, **conn) -> tuple[bool, str]:
    conn.setdefault("vbot_id", VBOT_ID)
    conn.setdefault("group_code", GROUP_CODE)
    return VBotHook(set_vbot_connection(monkeypatch, base_url, **conn)).test_connection()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_a_good_static_token_passes_and_nothing_is_created(monkeypatch, sim_url) -> None:
    ok, message = _test(monkeypatch, sim_url, token=STATIC_TOKEN)
    assert ok, message
    assert message == (f"Connected to VBot at {sim_url}: the access token was accepted, and the call history of "
                       f"VBot ID {VBOT_ID} (group {GROUP_CODE}) can be read. Nothing was sent.")
    assert STATIC_TOKEN not in message
    assert _sim(sim_url, "creates") == []


def test_a_good_password_grant_passes_with_one_grant(monkeypatch, sim_url) -> None:
    before = len(_sim(sim_url, "tokens"))
    ok, message = _test(monkeypatch, sim_url, login="demo", password="demo-password")
    assert ok, message
    assert "the username 'demo' and its password were accepted" in message and "demo-password" not in message
    grants = _sim(sim_url, "tokens")[before:]
    assert [g["grant_type"] for g in grants] == ["password"]
    assert _sim(sim_url, "creates") == []


def test_a_wrong_token_fails_clearly_without_showing_it(monkeypatch, sim_url) -> None:
    ok, message = _test(monkeypatch, sim_url, token="wrong-token-5521")
    assert not ok
    assert message == (f"VBot at {sim_url} refused the access token (HTTP 401). "
                       "Check the credentials of this connection.")
    assert "wrong-token-5521" not in message


def test_a_wrong_password_fails_clearly_without_showing_it(monkeypatch, sim_url) -> None:
    ok, message = _test(monkeypatch, sim_url, login="demo", password="not-the-password-7730")
    assert not ok
    assert message.startswith(f"VBot at {sim_url} refused the username 'demo' and its password (HTTP 400")
    assert "not-the-password-7730" not in message


def test_an_unreachable_host_fails_at_once_without_retries(monkeypatch) -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    ok, message = _test(monkeypatch, base, token=STATIC_TOKEN, max_retries=5, backoff_seconds=30)
    assert not ok  # (with the connection's 5 retries and 30 s backoff, a retrying test would take minutes)
    assert message.startswith(f"VBot at {base} is unreachable or did not answer in time")
    assert "Check the Base URL" in message and STATIC_TOKEN not in message


def test_a_failing_vbot_is_asked_once(monkeypatch, vbot: HTTPServer) -> None:
    vbot.expect_request(HISTORY).respond_with_json({"status": 0, "msg": "busy"}, status=503)
    ok, message = _test(monkeypatch, vbot.url_for("").rstrip("/"), token=STATIC_TOKEN, max_retries=3)
    assert not ok and "HTTP 503" in message
    assert len([r for r, _ in vbot.log if r.path == HISTORY]) == 1


@pytest.mark.parametrize(("extra", "expected"), [
    ({"vbot_id": "", "group_code": ""},
     "The VBot connection is incomplete: extra 'vbot_id' (VBot ID) is missing; extra 'group_code' (Group code) "
     "is missing."),
    ({"group_code": "", "max_retries": "three"},
     "The VBot connection is incomplete: extra 'group_code' (Group code) is missing; extra 'max_retries' "
     "(Retries of transient errors) must be a whole number, not 'three'."),
])
def test_missing_or_bad_extras_are_named_before_any_request(monkeypatch, vbot: HTTPServer, extra, expected) -> None:
    ok, message = _test(monkeypatch, vbot.url_for("").rstrip("/"), token=STATIC_TOKEN, **extra)
    assert (ok, message) == (False, expected)
    assert vbot.log == []


def test_no_credentials_at_all_is_named(monkeypatch, vbot: HTTPServer) -> None:
    ok, message = _test(monkeypatch, vbot.url_for("").rstrip("/"), token=None)
    assert (ok, message) == (False, "The VBot connection is incomplete: there is neither an access token "
                                    "(password) nor a username and password.")
    assert vbot.log == []


def test_an_account_vbot_does_not_know_is_named(monkeypatch, sim_url) -> None:
    ok, message = _test(monkeypatch, sim_url, token=STATIC_TOKEN, vbot_id="99999999")
    assert not ok
    assert message.startswith(f"VBot at {sim_url} accepted the access token but refused to read the call history")
    assert "vbot_id is not a known account" in message and message.endswith("Check the VBot ID and the group code.")


def test_a_base_url_that_is_not_vbots_api_is_named(monkeypatch, vbot: HTTPServer) -> None:
    vbot.expect_request(HISTORY).respond_with_data("no such page", status=404)
    base = vbot.url_for("").rstrip("/")
    ok, message = _test(monkeypatch, base, token=STATIC_TOKEN)
    assert (ok, message) == (False, f"VBot at {base} answered HTTP 404 to {HISTORY}: the Base URL does not "
                                    "look like VBot's API (e.g. https://api.vbot.vn).")


def test_a_grant_that_finds_no_token_endpoint_is_not_called_bad_credentials(monkeypatch, vbot: HTTPServer) -> None:
    vbot.expect_request("/token", method="POST").respond_with_data("no such page", status=404)
    base = vbot.url_for("").rstrip("/")
    ok, message = _test(monkeypatch, base, login="demo", password="grant-secret-1902")
    assert (ok, message) == (False, f"VBot at {base} answered HTTP 404 to /token: the Base URL does not look like "
                                    "VBot's API (e.g. https://api.vbot.vn).")
    assert [r.path for r, _ in vbot.log] == ["/token"]


def test_credentials_in_the_base_url_are_not_repeated(monkeypatch) -> None:
    base = f"http://ops:url-secret-6613@127.0.0.1:{_closed_port()}"
    ok, message = _test(monkeypatch, base, token=STATIC_TOKEN)
    assert not ok and "url-secret-6613" not in message and "ops:" not in message


def test_the_button_goes_through_airflows_own_path(monkeypatch, sim_url) -> None:
    # What the API server does for the Test button: a Connection from the form, its hook by type.
    from airflow.models.connection import Connection

    good = Connection(conn_id="vbot_form", conn_type="vbot", host=sim_url, password=STATIC_TOKEN,
                      extra=json.dumps({"vbot_id": VBOT_ID, "group_code": GROUP_CODE}))
    monkeypatch.setenv("AIRFLOW_CONN_VBOT_FORM", good.get_uri())
    assert good.test_connection()[0] is True
    database = Connection(conn_id="db_form", conn_type="sqlalchemy_url",
                          extra=json.dumps({"sqlalchemy_url": "sqlite:////nonexistent/x.db"}))
    monkeypatch.setenv("AIRFLOW_CONN_DB_FORM", database.get_uri())
    assert database.test_connection() == (False, "sqlite:////nonexistent/x.db: the SQLite file /nonexistent/x.db "
                                                 "does not exist (not created by a test)")


# -- databases ------------------------------------------------------------------------------------------


def _db_test(monkeypatch, url: str, password: str | None = None) -> tuple[bool, str]:
    conn_id = f"db_{abs(hash((url, password))) % 10**8}"
    conn = {"conn_type": "sqlalchemy_url", "extra": {"sqlalchemy_url": url}}
    if password:
        conn["password"] = password
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return SqlAlchemyUrlHook(conn_id).test_connection()


def test_an_existing_sqlite_file_passes(monkeypatch, tmp_path: Path) -> None:
    import sqlalchemy as sa

    path = tmp_path / "crm.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    size = path.stat().st_size
    assert _db_test(monkeypatch, f"sqlite:///{path}") == (True, f"Connected to sqlite:///{path}: SELECT 1 answered.")
    assert path.stat().st_size == size


def test_a_missing_sqlite_file_is_not_created(monkeypatch, tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    ok, message = _db_test(monkeypatch, f"sqlite:///{path}")
    assert (ok, message) == (False, f"sqlite:///{path}: the SQLite file {path} does not exist (not created by a test)")
    assert not path.exists()


@pytest.mark.postgres
def test_postgresql_passes_and_a_wrong_password_is_named_without_it(monkeypatch, pg_server_url) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_server_url)
    ok, message = _db_test(monkeypatch, url.render_as_string(hide_password=False))
    assert ok, message
    assert message == f"Connected to {url.render_as_string(hide_password=True)}: SELECT 1 answered."
    # A role that does not exist stands in for wrong credentials (the test server trusts local users).
    wrong = url.set(username="nobody_here", password=None).render_as_string(hide_password=False)
    ok, message = _db_test(monkeypatch, wrong, password="pg-secret-4410")
    assert not ok
    assert message.startswith("Could not query postgresql+psycopg://nobody_here:***@")
    assert 'role "nobody_here" does not exist' in message and "pg-secret-4410" not in message


def test_an_unreachable_database_is_named(monkeypatch) -> None:
    port = _closed_port()
    ok, message = _db_test(monkeypatch, f"postgresql+psycopg://crm@127.0.0.1:{port}/crm", password="pw-8821")
    assert not ok
    assert message.startswith(f"Could not query postgresql+psycopg://crm:***@127.0.0.1:{port}/crm: ")
    assert "Connection refused" in message and "pw-8821" not in message


def test_a_url_that_does_not_parse_is_named_without_echoing_it(monkeypatch) -> None:
    ok, message = _db_test(monkeypatch, "postgres ql://crm:leak-3391@db/crm")
    assert (ok, message) == (False, "The sqlalchemy_url extra is not a SQLAlchemy URL (dialect+driver://user@"
                                    "host:port/database, or sqlite:////absolute/path.db)")
