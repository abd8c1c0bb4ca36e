"""Outcomes back into the CRM: an upsert into a configurable table, keyed by contact, day and campaign."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.store.tables import contact_outcome
from vbotflow.store.upsert import dialect_insert

log = logging.getLogger(__name__)

DEFAULT_TABLE = "vbot_call_outcome"
KEY = ("contact_id", "call_date", "campaign")
# The columns the CRM table must have (see README, "Write-back"); extra CRM columns are left alone.
COLUMNS = (*KEY, "outcome", "is_answered", "attempts", "talk_seconds", "total_cost", "final_status_code",
           "vbot_campaign_id", "updated_at")
BATCH = 1000


def _upsert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    if conn.dialect.name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert

        statement = insert(table)
        statement = statement.on_duplicate_key_update({c: statement.inserted[c] for c in COLUMNS if c not in KEY})
    else:
        statement = dialect_insert(conn, table)
        statement = statement.on_conflict_do_update(
            index_elements=list(KEY), set_={c: statement.excluded[c] for c in COLUMNS if c not in KEY})
    conn.execute(statement, rows)


def write_back(db_engine: Engine, crm_engine: Engine, date_from: date, date_to: date,
               table_name: str = DEFAULT_TABLE, now: datetime | None = None) -> int:
    """Upsert the outcomes of the range into the CRM table; returns the rows written."""
    now = now or datetime.now(UTC)
    crm_table = sa.Table(table_name, sa.MetaData(), autoload_with=crm_engine)
    missing = [c for c in COLUMNS if c not in crm_table.c]
    if missing:
        raise ValueError(f"CRM table {table_name!r} lacks column(s) {', '.join(missing)}")
    co = contact_outcome
    query = sa.select(co.c.crm_contact_id, co.c.run_date, co.c.config_name, co.c.outcome, co.c.is_answered,
                      co.c.attempts, co.c.talk_seconds, co.c.total_cost, co.c.final_status_code,
                      co.c.vbot_campaign_id).where(co.c.run_date >= date_from, co.c.run_date <= date_to)
    written = 0
    with db_engine.connect() as source, crm_engine.begin() as target:
        result = source.execute(query)
        while batch := result.fetchmany(BATCH):
            rows = [{"contact_id": r.crm_contact_id, "call_date": r.run_date, "campaign": r.config_name,
                     "outcome": r.outcome, "is_answered": bool(r.is_answered), "attempts": r.attempts,
                     "talk_seconds": r.talk_seconds, "total_cost": r.total_cost,
                     "final_status_code": r.final_status_code, "vbot_campaign_id": r.vbot_campaign_id,
                     "updated_at": now} for r in batch]
            _upsert(target, crm_table, rows)
            written += len(rows)
    log.info("Wrote %d outcome row(s) of the run dates %s to %s to the CRM table %s", written, date_from, date_to,
             table_name)
    return written
