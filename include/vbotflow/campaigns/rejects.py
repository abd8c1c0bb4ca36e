"""The rejected rows of a day's lists, for people to read: counts by reason, rows, a CSV.

Phones leave this module masked (``09******78``) and nowhere else: the raw CRM spelling and the
normalised number stay in the database. Details are free text built from CRM data, so phone-like
numbers inside them are masked too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.privacy.masking import mask_phone, mask_phones_in_text
from vbotflow.store.tables import rejected_contact

CSV_COLUMNS = ("config_name", "run_date", "reason", "detail", "crm_contact_id", "phone_masked")
# A spreadsheet runs a cell that starts with one of these as a formula; CRM data is not trusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _where(query: sa.Select, run_date: date | None, config_names: Collection[str] | None,
           reason: str | None = None) -> sa.Select:
    rc = rejected_contact
    if run_date is not None:
        query = query.where(rc.c.run_date == run_date)
    if config_names is not None:
        query = query.where(rc.c.config_name.in_(sorted(config_names)))
    if reason:
        query = query.where(rc.c.reason == reason)
    return query


def reject_counts(engine: Engine, *, run_date: date | None, config_names: Collection[str] | None = None
                  ) -> list[dict[str, Any]]:
    """One row per day, config and reason: how many CRM rows were rejected for it."""
    rc = rejected_contact
    query = _where(sa.select(rc.c.run_date, rc.c.config_name, rc.c.reason, sa.func.count().label("count"))
                   .group_by(rc.c.run_date, rc.c.config_name, rc.c.reason)
                   .order_by(rc.c.run_date.desc(), rc.c.config_name, sa.func.count().desc(), rc.c.reason),
                   run_date, config_names)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def rejected_rows(engine: Engine, *, run_date: date | None, config_names: Collection[str] | None = None,
                  reason: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The rejected rows, oldest CRM id first, each with its reason, detail and masked phone only."""
    rc = rejected_contact
    query = _where(sa.select(rc.c.config_name, rc.c.run_date, rc.c.reason, rc.c.detail, rc.c.crm_contact_id,
                             rc.c.phone, rc.c.raw_phone)
                   .order_by(rc.c.run_date.desc(), rc.c.config_name, rc.c.reason, rc.c.crm_contact_id,
                             rc.c.rejected_contact_id),
                   run_date, config_names, reason)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_readable(r) for r in conn.execute(query).mappings()]


def _readable(row: Mapping[str, Any]) -> dict[str, Any]:
    # The normalised phone when there is one, else whatever the CRM held (an invalid number).
    phone = row["phone"] or row["raw_phone"]
    return {
        "config_name": row["config_name"],
        "run_date": row["run_date"],
        "reason": row["reason"],
        "detail": mask_phones_in_text(row["detail"]) if row["detail"] else None,
        "crm_contact_id": row["crm_contact_id"],
        "phone_masked": mask_phone(phone) if phone else "",
    }


def rejects_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """``CSV_COLUMNS`` of ``rejected_rows``; cells a spreadsheet would run as formulas are quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
