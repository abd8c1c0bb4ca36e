"""Engines for the integration database, and its migrations (Alembic, no ad-hoc DDL)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from vbotflow import settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3, the driver this project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None, **kwargs: object) -> Engine:
    """An engine for ``url`` (default: ``VBOTFLOW_DB_URL``); SQLite in WAL mode with a busy timeout.

    Statement parameters are left out of error messages (``hide_parameters``): a failed INSERT of
    contacts would otherwise print their numbers, names and custom fields into a task log and an alert.
    """
    url = normalise_url(url or settings.db_url())
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **kwargs)

    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API types
        # WAL lets readers (reports, the receiver) run beside one writer; the busy timeout makes
        # a writer wait for the lock instead of failing at once with "database is locked".
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration built in code, so no alembic.ini has to be found on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser interpolation syntax; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", normalise_url(url or settings.db_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the integration database to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Take the integration database back to ``revision`` (default: empty)."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None when no migration has run."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""
