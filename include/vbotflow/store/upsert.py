"""Dialect-aware INSERT … ON CONFLICT DO NOTHING, for idempotent writes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict]) -> int:
    """Insert rows, skipping those whose key exists already; returns how many were new."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        statement = insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        statement = insert(table).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        statement = table.insert().prefix_with("IGNORE")
    else:
        raise NotImplementedError(f"no insert-ignore for dialect {dialect}")
    before = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    conn.execute(statement, rows)
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() - before
