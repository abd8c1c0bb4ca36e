"""Database URLs from Airflow connections: every character of a password survives, types are explicit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import make_url

from vbot_provider.connections import integration_db_url, url_from_connection


def _connection(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


@pytest.mark.parametrize("password", ["p@ss/w:rd%20?#", "mật khẩu", "plain"])
def test_a_password_with_url_characters_survives(monkeypatch, password) -> None:
    _connection(monkeypatch, "crm_pw", conn_type="postgres", host="db.internal", port=5433, login="crm user",
                password=password, schema="crm")
    url = make_url(url_from_connection("crm_pw"))
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql+psycopg", "db.internal", 5433, "crm")
    assert (url.username, url.password) == ("crm user", password)


def test_mariadb_uses_pymysql_and_an_explicit_url_wins(monkeypatch) -> None:
    _connection(monkeypatch, "crm_my", conn_type="mysql", host="127.0.0.1", login="root", schema="crm")
    assert url_from_connection("crm_my") == "mysql+pymysql://root@127.0.0.1/crm"
    _connection(monkeypatch, "crm_x", conn_type="generic", extra={"sqlalchemy_url": "sqlite:////tmp/crm.db"})
    assert url_from_connection("crm_x") == "sqlite:////tmp/crm.db"


def test_an_unknown_type_says_what_to_do(monkeypatch) -> None:
    _connection(monkeypatch, "crm_odd", conn_type="oracle", host="h")
    with pytest.raises(ValueError, match="connection 'crm_odd' of type 'oracle': set extra 'sqlalchemy_url'"):
        url_from_connection("crm_odd")


def test_without_a_vbotflow_db_connection_the_environment_decides(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_VBOTFLOW_DB", raising=False)
    monkeypatch.setenv("VBOTFLOW_DB_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert integration_db_url() == f"sqlite:///{tmp_path / 'x.db'}"


def test_the_password_field_goes_into_a_url_without_one(monkeypatch) -> None:
    # scripts/connections.py keeps the password out of the extra (which the UI shows) and in the field.
    _connection(monkeypatch, "crm_split", conn_type="sqlalchemy_url", password="p@ss/w:rd",
                extra={"sqlalchemy_url": "postgresql+psycopg://crm@db.internal:5432/crm"})
    url = make_url(url_from_connection("crm_split"))
    assert (url.username, url.password, url.host, url.database) == ("crm", "p@ss/w:rd", "db.internal", "crm")
    # A URL that carries its own password keeps it.
    _connection(monkeypatch, "crm_whole", conn_type="sqlalchemy_url", password="other",
                extra={"sqlalchemy_url": "postgresql+psycopg://crm:mine@db/crm"})
    assert make_url(url_from_connection("crm_whole")).password == "mine"
