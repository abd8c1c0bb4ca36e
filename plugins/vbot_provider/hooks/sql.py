"""SqlAlchemyUrlHook: a database given by a SQLAlchemy URL (connection type ``sqlalchemy_url``).

The CRM (``crm_db``) and the integration database (``vbotflow_db``) are such connections: extra
``sqlalchemy_url``, the password in the password field. The hook exists so that Airflow's Test
button can check them; tasks open engines through ``vbot_provider.connections``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from airflow.sdk import BaseHook
from sqlalchemy.engine import URL, make_url

from vbot_provider.connections import url_from_connection

CONNECT_TIMEOUT_SECONDS = 5


class SqlAlchemyUrlHook(BaseHook):
    """Any database SQLAlchemy can reach (SQLite, PostgreSQL, MariaDB/MySQL) from one URL."""

    conn_name_attr = "sql_conn_id"
    default_conn_name = "vbotflow_db"
    conn_type = "sqlalchemy_url"
    hook_name = "Database (SQLAlchemy URL)"

    def __init__(self, sql_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql_conn_id = sql_conn_id

    def get_url(self) -> URL:
        """The database URL, password included (never log it: ``render_as_string()`` hides it)."""
        return make_url(url_from_connection(self.sql_conn_id))

    def test_connection(self) -> tuple[bool, str]:
        """Connect and run ``SELECT 1``; nothing is created or written (a missing SQLite file stays missing)."""
        try:
            url = self.get_url()
        except sa.exc.ArgumentError:  # its message quotes the whole URL, password included
            return False, ("The sqlalchemy_url extra is not a SQLAlchemy URL "
                           "(dialect+driver://user@host:port/database, or sqlite:////absolute/path.db)")
        except ValueError as err:  # no sqlalchemy_url and a type that says nothing either
            return False, str(err)
        where = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database in ("", ":memory:") or database.startswith("file:"):
                return False, f"{where}: give the SQLite database as a file path (sqlite:////absolute/path.db)"
            if not Path(database).is_file():
                return False, f"{where}: the SQLite file {database} does not exist (not created by a test)"
        engine = sa.create_engine(url, connect_args=_connect_timeout(url), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).scalar_one()
        except Exception as err:  # noqa: BLE001 - any driver error is an answer for the Test button
            reason = " ".join(str(getattr(err, "orig", None) or err).split())
            return False, f"Could not query {where}: {_without_secret(reason, url.password)[:400]}"
        finally:
            engine.dispose()
        return True, f"Connected to {where}: SELECT 1 answered."


def _connect_timeout(url: URL) -> dict[str, Any]:
    """Fail fast when the server does not answer (the Test button waits for this)."""
    backend = url.get_backend_name()
    if backend == "postgresql" or backend in ("mysql", "mariadb"):
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if backend == "sqlite":
        return {"timeout": CONNECT_TIMEOUT_SECONDS}
    return {}


def _without_secret(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
