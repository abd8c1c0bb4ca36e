"""Outcomes back into the CRM: an upsert into a configurable table, keyed by contact, day and campaign.

The table belongs to the CRM and is made by a person (README, "Reconciliation"), so it is checked
before anything is written, and written with this module's own column types: what a database
reports can mislead (SQLite gives ``TIMESTAMP WITH TIME ZONE`` NUMERIC affinity, and SQLAlchemy then
reflects it as a number).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.privacy.pseudonyms import contact_is_pseudonym
from vbotflow.store.tables import contact_outcome
from vbotflow.store.upsert import dialect_insert

log = logging.getLogger(__name__)

DEFAULT_TABLE = "vbot_call_outcome"
KEY = ("contact_id", "call_date", "campaign")
DDL_HINT = "create or fix it with the DDL in the README, section 'Reconciliation'"
BATCH = 1000
# MySQL/MariaDB errors about the rows that PyMySQL files as OperationalError (a class that otherwise
# means "the server is away"): they fail the same way on every try.
_MYSQL_ROW_ERRORS = {1364: "no default for a NOT NULL column", 3819: "CHECK constraint", 4025: "CHECK constraint"}


def _columns(updated_at_has_zone: bool) -> list[sa.Column]:
    """The CRM table as this module writes it (the README's DDL); extra CRM columns are left alone."""
    return [
        sa.Column("contact_id", sa.String(100), primary_key=True),
        sa.Column("call_date", sa.Date, primary_key=True),
        sa.Column("campaign", sa.String(100), primary_key=True),
        sa.Column("outcome", sa.String(16)),
        sa.Column("is_answered", sa.Boolean),
        sa.Column("attempts", sa.Integer),
        sa.Column("talk_seconds", sa.Integer),
        sa.Column("total_cost", sa.Numeric(16, 2)),
        sa.Column("final_status_code", sa.Integer),
        sa.Column("vbot_campaign_id", sa.BigInteger),
        sa.Column("updated_at", sa.DateTime(timezone=updated_at_has_zone)),
    ]


COLUMNS = tuple(c.name for c in _columns(False))


class WriteBackTableError(ValueError):
    """The CRM table cannot take the outcomes as it is; only a person can fix that (no retry helps)."""


def target_table(crm_engine: Engine, table_name: str = DEFAULT_TABLE) -> sa.Table:
    """The CRM table with our column types, after checking it exists, has our columns and our key."""
    inspector = sa.inspect(crm_engine)
    if not inspector.has_table(table_name):
        raise WriteBackTableError(f"the CRM has no table {table_name!r}: {DDL_HINT}; nothing was written")
    reflected = {c["name"].lower(): c for c in inspector.get_columns(table_name)}
    missing = [c for c in COLUMNS if c not in reflected]
    if missing:
        raise WriteBackTableError(f"CRM table {table_name!r} lacks column(s) {', '.join(missing)}: {DDL_HINT}; "
                                  "nothing was written")
    unfilled = [c["name"] for name, c in reflected.items() if name not in COLUMNS and not c.get("nullable", True)
                and c.get("default") is None and c.get("autoincrement") is not True and not c.get("computed")]
    if unfilled:
        raise WriteBackTableError(
            f"CRM table {table_name!r} has column(s) {', '.join(unfilled)} that are NOT NULL without a default: "
            f"the write-back does not fill them; give them a default or allow NULL; nothing was written")
    keys = [inspector.get_pk_constraint(table_name).get("constrained_columns") or []]
    keys += [u["column_names"] for u in inspector.get_unique_constraints(table_name)]
    keys += [i["column_names"] for i in inspector.get_indexes(table_name) if i.get("unique")]
    if not any({str(c).lower() for c in key} == set(KEY) and len(key) == len(KEY) for key in keys):
        raise WriteBackTableError(
            f"CRM table {table_name!r} needs a primary key or unique constraint on exactly ({', '.join(KEY)}) "
            f"for the upsert: {DDL_HINT}; nothing was written")
    # A zone-aware column (PostgreSQL's timestamptz) gets an aware UTC instant; any other (DATETIME,
    # TIMESTAMP, SQLite's text) gets the UTC wall time, so no session time zone can shift it.
    updated_at = reflected["updated_at"]["type"]
    has_zone = isinstance(updated_at, sa.DateTime) and bool(updated_at.timezone)
    return sa.Table(table_name, sa.MetaData(), *_columns(has_zone))


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
    """Upsert the outcomes of the range into the CRM table, all or nothing; returns the rows written.

    Raises ``WriteBackTableError`` when the table is missing or does not fit, or when the CRM refuses
    the rows themselves (a constraint, a type): those fail the same way every time. A database that
    cannot be reached raises SQLAlchemy's ``OperationalError``, worth a retry.
    """
    crm_table = target_table(crm_engine, table_name)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = now if crm_table.c.updated_at.type.timezone else now.replace(tzinfo=None)
    co = contact_outcome
    query = sa.select(co.c.crm_contact_id, co.c.run_date, co.c.config_name, co.c.outcome, co.c.is_answered,
                      co.c.attempts, co.c.talk_seconds, co.c.total_cost, co.c.final_status_code,
                      co.c.vbot_campaign_id).where(co.c.run_date >= date_from, co.c.run_date <= date_to,
                                                   # erased or past retention: the CRM's record is its owner's
                                                   ~contact_is_pseudonym(co.c.crm_contact_id))
    written = 0
    try:
        with db_engine.connect() as source, crm_engine.begin() as target:
            result = source.execute(query)
            while batch := result.fetchmany(BATCH):
                rows = [{"contact_id": r.crm_contact_id, "call_date": r.run_date, "campaign": r.config_name,
                         "outcome": r.outcome, "is_answered": bool(r.is_answered), "attempts": r.attempts,
                         "talk_seconds": r.talk_seconds, "total_cost": r.total_cost,
                         "final_status_code": r.final_status_code, "vbot_campaign_id": r.vbot_campaign_id,
                         "updated_at": stamp} for r in batch]
                _upsert(target, crm_table, rows)
                written += len(rows)
    except sa.exc.OperationalError as err:
        if _mysql_code(err) not in _MYSQL_ROW_ERRORS:
            raise
        raise _refused(table_name, err) from err
    except (sa.exc.IntegrityError, sa.exc.DataError, sa.exc.ProgrammingError) as err:
        raise _refused(table_name, err) from err
    log.info("Wrote %d outcome row(s) of the run dates %s to %s to the CRM table %s", written, date_from, date_to,
             table_name)
    return written


def _mysql_code(err: sa.exc.DBAPIError) -> int | None:
    args = getattr(err.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _refused(table_name: str, err: sa.exc.DBAPIError) -> WriteBackTableError:
    # Only the driver's first line: SQLAlchemy's text goes on with the statement and the rows.
    reason = str(err.orig).strip().splitlines()[0][:300]
    return WriteBackTableError(f"the CRM refused the write-back into {table_name!r} ({type(err.orig).__name__}: "
                               f"{reason}); nothing was written: {DDL_HINT}")
