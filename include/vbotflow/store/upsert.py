"""Dialect-aware INSERT … ON CONFLICT, for idempotent writes (PostgreSQL, SQLite; MySQL for CRMs)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's own ``insert(table)``, which knows ON CONFLICT (PostgreSQL, SQLite)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"no INSERT … ON CONFLICT for dialect {conn.dialect.name}")
    return insert(table)


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def insert_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict]) -> int:
    """Insert rows, skipping those whose key exists already; returns how many were new."""
    if not rows:
        return 0
    if conn.dialect.name in ("mysql", "mariadb"):
        statement = table.insert().prefix_with("IGNORE")
    else:
        statement = dialect_insert(conn, table).on_conflict_do_nothing()
    # Counted, not taken from rowcount: drivers disagree on it for executemany and INSERT … SELECT.
    before = _count(conn, table)
    conn.execute(statement, rows)
    return _count(conn, table) - before


def insert_from_select_ignoring_duplicates(conn: Connection, table: sa.Table, columns: list[str],
                                           select: sa.Select) -> int:
    """INSERT … SELECT … ON CONFLICT DO NOTHING; returns the rows inserted.

    One statement, so the driver's row count is the database's own (``INSERT 0 n`` on PostgreSQL,
    ``changes()`` on SQLite): counting the table before and after would read all of it twice.
    """
    statement = dialect_insert(conn, table).from_select(columns, select).on_conflict_do_nothing()
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
