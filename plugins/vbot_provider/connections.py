"""SQLAlchemy URLs from Airflow connections (``vbotflow_db``, ``crm_db``)."""

from __future__ import annotations

from urllib.parse import quote

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from vbotflow import settings

_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def url_from_connection(conn_id: str) -> str:
    """The connection's ``sqlalchemy_url`` extra, or a URL built from its fields."""
    conn = BaseHook.get_connection(conn_id)
    explicit = conn.extra_dejson.get("sqlalchemy_url")
    if explicit:
        return str(explicit)
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    driver = _DRIVERS.get(conn.conn_type or "")
    if driver is None:
        raise ValueError(
            f"connection {conn_id!r} of type {conn.conn_type!r}: set extra 'sqlalchemy_url', or use "
            f"one of the types {sorted(_DRIVERS) + ['sqlite']}")
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    port = f":{conn.port}" if conn.port else ""
    return f"{driver}://{auth}{conn.host or 'localhost'}{port}/{conn.schema or ''}"


def integration_db_url(conn_id: str = "vbotflow_db") -> str:
    """The integration DB: the ``vbotflow_db`` connection if defined, else ``VBOTFLOW_DB_URL``."""
    try:
        return url_from_connection(conn_id)
    except AirflowNotFoundException:
        return settings.db_url()
