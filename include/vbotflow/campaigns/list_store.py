"""The day's list in the integration DB: accepted contacts per chunk, rejects, and what they add up to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vbotflow.campaigns import outbox
from vbotflow.campaigns.config import CampaignConfig
from vbotflow.campaigns.transform import TransformResult, vbot_contacts
from vbotflow.store.tables import campaign_contact, campaign_run, kpi_daily, rejected_contact


@dataclass(frozen=True)
class PlannedChunk:
    """One chunk of the day's list, ready to be created (what goes through XCom: keys and counts)."""

    run_key: str
    chunk_number: int
    campaign_name: str
    phone_count: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_chunks(config: CampaignConfig, result: TransformResult) -> dict[int, list[dict[str, str]]]:
    """VBot contacts per chunk number (chunks in number order, contacts in row order)."""
    # One pass over the whole frame: selecting columns of each chunk's group cost more than the rows.
    chunks: dict[int, list[dict[str, str]]] = {}
    if result.accepted.empty:
        return chunks
    numbers = result.accepted["chunk_number"].tolist()
    for number, contact in zip(numbers, vbot_contacts(result.accepted, config), strict=True):
        chunks.setdefault(int(number), []).append(contact)
    return {n: chunks[n] for n in sorted(chunks)}


def save_daily_list(engine: Engine, config: CampaignConfig, run_date: date, result: TransformResult,
                    payload_hashes: Mapping[int, str], now: datetime | None = None,
                    contacts_by_chunk: Mapping[int, list[dict[str, str]]] | None = None) -> list[PlannedChunk]:
    """Record the day's accepted contacts (per chunk, with a pending campaign_run) and its rejects.

    Idempotent for a rerun of the same day: chunks not yet sent are replaced; chunks already sent
    must carry the same payload, else ``outbox.PayloadChangedError`` and nothing is written.
    ``contacts_by_chunk`` is ``plan_chunks(config, result)`` when the caller has it already.
    """
    now = now or datetime.now(UTC)
    if contacts_by_chunk is None:
        contacts_by_chunk = plan_chunks(config, result)
    with engine.begin() as conn:
        existing = {r["chunk_number"]: dict(r) for r in conn.execute(
            sa.select(campaign_run).where(campaign_run.c.config_name == config.name,
                                          campaign_run.c.run_date == run_date)).mappings()}
        for number, row in existing.items():
            if row["state"] in outbox.SENT_STATES and row["payload_sha256"] != payload_hashes.get(number):
                raise outbox.PayloadChangedError(
                    f"campaign run {row['run_key']} was already sent ({row['state']}) and today's list for "
                    f"it changed (the CRM data differs from the first run). Nothing was written or sent. "
                    "Review the CRM changes; run the DAG for another run_date to send a new list.")
        unsent = [n for n, row in existing.items() if row["state"] not in outbox.SENT_STATES]
        if unsent:
            keys = [existing[n]["run_key"] for n in unsent]
            conn.execute(campaign_contact.delete().where(campaign_contact.c.run_key.in_(keys)))
            conn.execute(campaign_run.delete().where(campaign_run.c.run_key.in_(keys)))
        conn.execute(rejected_contact.delete().where(rejected_contact.c.config_name == config.name,
                                                     rejected_contact.c.run_date == run_date))

        planned: list[PlannedChunk] = []
        run_rows: list[dict[str, Any]] = []
        contact_rows: list[dict[str, Any]] = []
        # One pass over the frame for every chunk's CRM ids (in row order, as plan_chunks groups them).
        ids_by_chunk = {int(n): ids.tolist() for n, ids in
                        result.accepted.groupby("chunk_number")["crm_contact_id"]}
        for number, contacts in contacts_by_chunk.items():
            spec = outbox.ChunkSpec(config.name, run_date, number, config.template_id,
                                    config.campaign_name_for(run_date, number), len(contacts),
                                    payload_hashes[number])
            planned.append(PlannedChunk(spec.run_key, number, spec.campaign_name, len(contacts)))
            if number in existing and existing[number]["state"] in outbox.SENT_STATES:
                continue
            run_rows.append(outbox.new_row(spec, "pending", now))
            contact_rows.extend(
                {"run_key": spec.run_key, "config_name": config.name, "run_date": run_date,
                 "chunk_number": number, "crm_contact_id": crm_id, "phone": contact["phone"],
                 "fields_json": json.dumps(contact, ensure_ascii=False), "created_at": now}
                for crm_id, contact in zip(ids_by_chunk[number], contacts, strict=True))
        # Whole-day batches, chunk after chunk: contact ids keep the planned order chunk_contacts reads back.
        if run_rows:
            conn.execute(campaign_run.insert(), run_rows)
        insert_in_order(conn, campaign_contact, contact_rows)
        insert_in_order(conn, rejected_contact, _reject_rows(result.rejected, config, run_date, now))
    return planned


def insert_in_order(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) in their order, inside ``conn``'s transaction.

    On PostgreSQL through psycopg, one COPY stream: an executemany goes through the driver row by
    row, a day's list of 100,000 contacts in tens of seconds. Elsewhere, an executemany.
    """
    if not rows:
        return
    if (conn.dialect.name, conn.dialect.driver) != ("postgresql", "psycopg"):
        conn.execute(table.insert(), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _reject_rows(rejected: pd.DataFrame, config: CampaignConfig, run_date: date, now: datetime) -> list[dict]:
    frame = rejected[["crm_contact_id", "raw_phone", "phone", "reject_reason", "reject_detail"]]
    rows = []
    for crm_id, raw_phone, phone, reason, detail in frame.itertuples(index=False, name=None):
        rows.append({
            "config_name": config.name, "run_date": run_date, "created_at": now,
            "crm_contact_id": None if pd.isna(crm_id) else crm_id,
            "raw_phone": None if pd.isna(raw_phone) else str(raw_phone)[:64],
            "phone": None if pd.isna(phone) else phone,
            "reason": reason,
            "detail": None if pd.isna(detail) else detail,
        })
    return rows


def chunk_contacts(engine: Engine, run_key: str) -> list[dict[str, str]]:
    """The VBot contacts recorded for a chunk, in the order they were planned.

    Contacts erased on request before the chunk was sent (their phone is a pseudonym) are left out.
    """
    query = (sa.select(campaign_contact.c.fields_json)
             .where(campaign_contact.c.run_key == run_key, campaign_contact.c.deidentified_at.is_(None))
             .order_by(campaign_contact.c.campaign_contact_id))
    with engine.connect() as conn:
        return [json.loads(text) for text in conn.execute(query).scalars()]


def day_summary(engine: Engine, config_name: str, run_date: date) -> dict[str, Any]:
    """What the day's runs of a config amount to: campaigns by state, contacts, rejects by reason."""
    with engine.connect() as conn:
        runs = conn.execute(
            sa.select(campaign_run.c.run_key, campaign_run.c.state, campaign_run.c.vbot_campaign_id,
                      campaign_run.c.phone_count)
            .where(campaign_run.c.config_name == config_name, campaign_run.c.run_date == run_date)
            .order_by(campaign_run.c.chunk_number)).mappings().all()
        rejects = conn.execute(
            sa.select(rejected_contact.c.reason, sa.func.count())
            .where(rejected_contact.c.config_name == config_name, rejected_contact.c.run_date == run_date)
            .group_by(rejected_contact.c.reason).order_by(rejected_contact.c.reason)).all()
    created = [r for r in runs if r["state"] == "created"]
    return {
        "config": config_name,
        "run_date": run_date.isoformat(),
        "campaigns_created": len(created),
        "vbot_campaign_ids": [int(r["vbot_campaign_id"]) for r in created],
        "contacts_sent": sum(r["phone_count"] for r in created),
        "contacts_accepted": sum(r["phone_count"] for r in runs),
        "runs_by_state": {s: sum(1 for r in runs if r["state"] == s) for s in sorted({r["state"] for r in runs})},
        "rejected": sum(n for _, n in rejects),
        "rejected_by_reason": {reason: n for reason, n in rejects},
    }


def config_names_on_record(engine: Engine) -> list[str]:
    """Every campaign config the integration DB holds anything of (runs, rejects, KPIs), A→Z."""
    query = sa.union(sa.select(campaign_run.c.config_name), sa.select(rejected_contact.c.config_name),
                     sa.select(kpi_daily.c.config_name))
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())
