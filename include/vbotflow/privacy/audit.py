"""The ``privacy_audit`` table: what each erasure and retention run did, the person only as a keyed hash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vbotflow.store.tables import privacy_audit


def record(conn: Connection, *, action: str, performed_at: datetime, performed_by: str, subject_hash: str | None,
           rows: Mapping[str, int], files: Mapping[str, int], detail: str | None = None) -> int:
    """Add one audit row (in the caller's transaction, with the changes it describes); returns its id."""
    return conn.execute(privacy_audit.insert().values(
        action=action, performed_at=performed_at, performed_by=performed_by[:200], subject_hash=subject_hash,
        rows_json=json.dumps(dict(rows), sort_keys=True), files_json=json.dumps(dict(files), sort_keys=True),
        detail=detail,
    ).returning(privacy_audit.c.audit_id)).scalar_one()


def entries(engine: Engine, *, subject_hash: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Audit rows, newest first; only those of one person when ``subject_hash`` is given."""
    query = sa.select(privacy_audit).order_by(privacy_audit.c.audit_id.desc()).limit(limit)
    if subject_hash is not None:
        query = query.where(privacy_audit.c.subject_hash == subject_hash)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["rows"] = json.loads(row.pop("rows_json"))
        row["files"] = json.loads(row.pop("files_json"))
    return rows
