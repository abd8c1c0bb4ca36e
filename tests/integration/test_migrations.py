"""Migrations up and down on SQLite and PostgreSQL; the tables match the SQLAlchemy metadata."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vbotflow.store import db
from vbotflow.store.tables import metadata


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_creates_what_the_metadata_describes(db_url: str) -> None:
    assert _tables(db_url) == set(metadata.tables)
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    db.downgrade(db_url, "base")
    assert _tables(db_url) == set()
    assert db.current_revision(db_url) is None
    db.upgrade(db_url)
    assert _tables(db_url) == set(metadata.tables)
    assert db.current_revision(db_url) == db.head_revision()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_plain_postgresql_urls_use_psycopg3() -> None:
    assert db.normalise_url("postgresql://u:p%40ss@h:5432/d") == "postgresql+psycopg://u:p%40ss@h:5432/d"
    assert db.normalise_url("sqlite:///x.db") == "sqlite:///x.db"
