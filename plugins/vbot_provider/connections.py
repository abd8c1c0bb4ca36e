"""Databases behind Airflow connections (``vbotflow_db``, ``crm_db``): URLs and engines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy.engine import URL, make_url

from vbotflow import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

INTEGRATION_DB_CONN_ID = "vbotflow_db"
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def url_from_connection(conn_id: str) -> str:
    """The connection's ``sqlalchemy_url`` extra, or a URL built from its fields.

    A password in the connection's password field goes into a ``sqlalchemy_url`` that has none, so
    the secret can live in the field Airflow masks rather than in the extra it shows.
    """
    conn = BaseHook.get_connection(conn_id)
    explicit = conn.extra_dejson.get("sqlalchemy_url")
    if explicit:
        url = make_url(str(explicit))
        if conn.password and url.password is None:
            return url.set(password=conn.password).render_as_string(hide_password=False)
        return str(explicit)
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    driver = _DRIVERS.get(conn.conn_type or "")
    if driver is None:
        raise ValueError(
            f"connection {conn_id!r} of type {conn.conn_type!r}: set extra 'sqlalchemy_url', or use "
            f"one of the types {sorted(_DRIVERS) + ['sqlite']}")
    url = URL.create(driver, username=conn.login or None, password=conn.password or None,
                     host=conn.host or "localhost", port=conn.port or None, database=conn.schema or None)
    return url.render_as_string(hide_password=False)


def integration_db_url(conn_id: str = INTEGRATION_DB_CONN_ID) -> str:
    """The integration DB: the ``vbotflow_db`` connection if defined, else ``VBOTFLOW_DB_URL``."""
    try:
        return url_from_connection(conn_id)
    except AirflowNotFoundException:
        return settings.db_url()


@contextmanager
def connection_engine(conn_id: str) -> Iterator[Engine]:
    """An engine for the database of an Airflow connection, disposed when the block ends."""
    from vbotflow.store.db import make_engine

    engine = make_engine(url_from_connection(conn_id))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def integration_engine(conn_id: str = INTEGRATION_DB_CONN_ID) -> Iterator[Engine]:
    """An engine for the integration DB (see ``integration_db_url``), disposed when the block ends."""
    from vbotflow.store.db import make_engine

    engine = make_engine(integration_db_url(conn_id))
    try:
        yield engine
    finally:
        engine.dispose()
