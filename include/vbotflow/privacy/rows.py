"""De-identifying rows of the integration DB: one pseudonym per number in every table, so joins still hold.

Each function takes the rows to change (a WHERE clause, or event rows already chosen), replaces the
personal values and returns how many rows it changed (in a dry run: would change). What
reconciliation, recycling and the KPIs read stays as it was: campaigns, dates, statuses, durations,
costs, outcomes; and since the same number gets the same pseudonym in ``campaign_contact``,
``call_attempt``, ``contact_outcome`` and ``webhook_event``, rebuilding outcomes or KPIs afterwards
gives the same figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from vbotflow.privacy.deidentify import Policy, deidentify_body
from vbotflow.privacy.pseudonyms import Pseudonymiser
from vbotflow.receiver.parse import Parsed, parse_delivery
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    contact_outcome,
    rejected_contact,
    webhook_call_record,
    webhook_event,
)

BATCH = 1000
# What a VBot contact keeps once de-identified: its (pseudonymous) phone and how often VBot may call.
KEPT_CONTACT_FIELDS = ("numberCall",)
DUPLICATE_DETAIL = "kept CRM contact "


class DeidentificationError(RuntimeError):
    """De-identifying a row would change what reconciliation reads from it: nothing was changed."""


def _count(conn: Connection, table: sa.Table, where: ColumnElement[bool]) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()


def _update_by_key(conn: Connection, table: sa.Table, key: str, updates: list[dict[str, Any]]) -> None:
    """Executemany UPDATE … WHERE key = :b_key; the bound names must not be column names."""
    if not updates:
        return
    columns = [name[2:] for name in updates[0] if name != f"b_{key}"]
    statement = (table.update().where(table.c[key] == sa.bindparam(f"b_{key}"))
                 .values({c: sa.bindparam(f"b_{c}") for c in columns}))
    for start in range(0, len(updates), BATCH):
        conn.execute(statement, updates[start:start + BATCH])


def reduced_fields(fields_json: str, pseudonym: str) -> str:
    """A contact's VBot fields with only the pseudonym and ``numberCall`` left."""
    try:
        fields = json.loads(fields_json)
    except json.JSONDecodeError:
        fields = {}
    kept = {k: fields[k] for k in KEPT_CONTACT_FIELDS if isinstance(fields, dict) and k in fields}
    return json.dumps({"phone": pseudonym, **kept}, ensure_ascii=False)


def contact_names(conn: Connection, where: ColumnElement[bool]) -> set[str]:
    """The names the matching contacts were sent to VBot with (VBot echoes them in its results)."""
    names = set()
    for (text,) in conn.execute(sa.select(campaign_contact.c.fields_json).where(where)):
        try:
            value = json.loads(text).get("name")
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(value, str) and value.strip():
            names.add(value.strip())
    return names


def deidentify_contacts(conn: Connection, where: ColumnElement[bool], ps: Pseudonymiser, now: datetime, *,
                        dry_run: bool) -> int:
    cc = campaign_contact
    if dry_run:
        return _count(conn, cc, where)
    rows = conn.execute(sa.select(cc.c.campaign_contact_id, cc.c.phone, cc.c.crm_contact_id, cc.c.fields_json)
                        .where(where)).all()
    _update_by_key(conn, cc, "campaign_contact_id", [
        {"b_campaign_contact_id": pk, "b_phone": ps.phone(phone), "b_crm_contact_id": ps.contact_id(crm_id),
         "b_fields_json": reduced_fields(fields, ps.phone(phone)), "b_deidentified_at": now}
        for pk, phone, crm_id, fields in rows])
    return len(rows)


def deidentify_outcomes(conn: Connection, where: ColumnElement[bool], ps: Pseudonymiser, *, dry_run: bool) -> int:
    co = contact_outcome
    if dry_run:
        return _count(conn, co, where)
    rows = conn.execute(sa.select(co.c.campaign_contact_id, co.c.phone, co.c.crm_contact_id).where(where)).all()
    _update_by_key(conn, co, "campaign_contact_id", [
        {"b_campaign_contact_id": pk, "b_phone": ps.phone(phone), "b_crm_contact_id": ps.contact_id(crm_id)}
        for pk, phone, crm_id in rows])
    return len(rows)


def _reject_detail(detail: str | None, ps: Pseudonymiser) -> str | None:
    # Only the duplicate reason quotes data: the CRM contact kept instead of this one.
    if detail and detail.startswith(DUPLICATE_DETAIL):
        return DUPLICATE_DETAIL + ps.contact_id(detail[len(DUPLICATE_DETAIL):])
    return detail


def deidentify_rejects(conn: Connection, where: ColumnElement[bool], ps: Pseudonymiser, now: datetime, *,
                       dry_run: bool) -> int:
    rj = rejected_contact
    if dry_run:
        return _count(conn, rj, where)
    rows = conn.execute(sa.select(rj.c.rejected_contact_id, rj.c.phone, rj.c.crm_contact_id, rj.c.detail)
                        .where(where)).all()
    updates = []
    for pk, phone, crm_id, detail in rows:
        pseudonym = None if phone is None else ps.phone(phone)
        updates.append({"b_rejected_contact_id": pk, "b_phone": pseudonym, "b_raw_phone": pseudonym,
                        "b_crm_contact_id": None if crm_id is None else ps.contact_id(crm_id),
                        "b_detail": _reject_detail(detail, ps), "b_deidentified_at": now})
    _update_by_key(conn, rj, "rejected_contact_id", updates)
    return len(rows)


def deidentify_attempts(conn: Connection, where: ColumnElement[bool], ps: Pseudonymiser, *, dry_run: bool) -> int:
    """Call attempts: the phone pseudonymised, the key presses dropped."""
    a = call_attempt
    if dry_run:
        return _count(conn, a, where)
    rows = conn.execute(sa.select(a.c.call_attempt_id, a.c.phone).where(where)).all()
    _update_by_key(conn, a, "call_attempt_id", [
        {"b_call_attempt_id": pk, "b_phone": ps.phone(phone), "b_action_log": None} for pk, phone in rows])
    return len(rows)


# --- webhook events ---

EVENT_COLUMNS = (webhook_event.c.event_id, webhook_event.c.kind, webhook_event.c.endpoint, webhook_event.c.body,
                 webhook_event.c.headers_json, webhook_event.c.parse_error)
_AUTOCALL_KEPT = ("vbot_campaign_id", "called_at", "status_code", "hotline", "duration_seconds", "postage",
                  "service_charge")
_RECORD_KEPT = ("called_at", "hotline", "type_call", "disposition", "duration_seconds")


@dataclass
class EventChange:
    event_id: int
    values: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)


def _safe_headers(headers_json: str) -> str:
    # A signature is a MAC of the original body: with the signing secret it would confirm a guess.
    try:
        headers = json.loads(headers_json)
    except json.JSONDecodeError:
        return "{}"
    kept = {k: v for k, v in headers.items() if "signature" not in k.lower()}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def _check_unchanged(event_id: int, before: Parsed, after: Parsed, ps: Pseudonymiser) -> None:
    """What reconciliation reads from the event must read the same after de-identification."""
    changed = [] if after.kind == before.kind else ["kind"]
    if before.kind == "autocall":
        changed += [k for k in _AUTOCALL_KEPT if before.columns.get(k) != after.columns.get(k)]
        if after.columns.get("phone") != ps.phone(before.columns.get("phone")):
            changed.append("phone")
    elif before.kind == "call_history":
        if len(before.records) != len(after.records):
            changed.append("record_count")
        for old, new in zip(before.records, after.records, strict=False):
            changed += [f"data[{old['record_index']}].{k}" for k in _RECORD_KEPT if old[k] != new[k]]
    if changed:
        raise DeidentificationError(f"webhook event {event_id}: de-identifying its body would change "
                                    f"{', '.join(sorted(set(changed)))}; nothing was changed")


def event_change(row: Any, policy: Policy, ps: Pseudonymiser) -> EventChange | None:
    """The new values of one ``webhook_event`` row (and its call records), or None if nothing is personal."""
    body = bytes(row.body)
    new_body = deidentify_body(body, policy)
    parse_error = policy.free_text(row.parse_error) if row.parse_error else row.parse_error
    if new_body is None and parse_error == row.parse_error:
        return None
    new_body = body if new_body is None else new_body
    values: dict[str, Any] = {"body": new_body, "body_sha256": hashlib.sha256(new_body).hexdigest(),
                              "parse_error": parse_error, "headers_json": _safe_headers(row.headers_json),
                              "action_log": None}
    if row.kind == "invalid":
        # Kept as the dead letter it was (its parse error says why), under the key of its new bytes.
        values.update(dedupe_key="invalid:" + hashlib.sha256(new_body).hexdigest(), phone=None)
        return EventChange(row.event_id, values)
    before, after = parse_delivery(body, row.endpoint), parse_delivery(new_body, row.endpoint)
    _check_unchanged(row.event_id, before, after, ps)
    values.update(dedupe_key=after.dedupe_key, phone=after.columns.get("phone"))
    records = [{"record_index": r["record_index"], "caller": r["caller"], "callee": r["callee"],
                "record_file": r["record_file"], "record_json": r["record_json"], "dedupe_key": r["dedupe_key"]}
               for r in after.records]
    return EventChange(row.event_id, values, records)


def _unique_keys(conn: Connection, table: sa.Table, key_column: str, id_column: str,
                 wanted: dict[int, str]) -> dict[int, str]:
    """New dedupe keys, made unique: one that another row already holds gets a key of its own.

    Two deliveries that differed only in personal data (the same call sent once with ``84…`` and
    once with ``0…``) become identical once de-identified; the later row keeps its place.
    """
    holders: dict[str, int] = {}
    keys = sorted(set(wanted.values()))
    for start in range(0, len(keys), BATCH):
        chunk = keys[start:start + BATCH]
        holders.update({k: i for i, k in conn.execute(
            sa.select(table.c[key_column], table.c[id_column]).where(table.c[key_column].in_(chunk)))})
    result: dict[int, str] = {}
    taken: set[str] = set()
    for row_id, key in sorted(wanted.items()):
        holder = holders.get(key)
        if key in taken or (holder is not None and holder != row_id and holder not in wanted):
            key = f"{key.split(':', 1)[0]}:dup{row_id}:" + hashlib.sha256(key.encode()).hexdigest()[:40]
        taken.add(key)
        result[row_id] = key
    return result


def apply_event_changes(conn: Connection, changes: Iterable[EventChange], now: datetime) -> tuple[int, int]:
    """Write event changes; returns (events, call records) updated."""
    changes = list(changes)
    if not changes:
        return 0, 0
    e, r = webhook_event, webhook_call_record
    # Keys first move out of the way, so that swapping two keys never trips the unique constraint.
    _update_by_key(conn, e, "event_id", [{"b_event_id": c.event_id, "b_dedupe_key": f"moving:{c.event_id}"}
                                         for c in changes])
    keys = _unique_keys(conn, e, "dedupe_key", "event_id", {c.event_id: c.values["dedupe_key"] for c in changes})
    _update_by_key(conn, e, "event_id", [
        {"b_event_id": c.event_id, **{f"b_{k}": v for k, v in c.values.items() if k != "dedupe_key"},
         "b_dedupe_key": keys[c.event_id], "b_deidentified_at": now} for c in changes])

    stored = {(event_id, index): record_id for record_id, event_id, index in conn.execute(
        sa.select(r.c.call_record_id, r.c.event_id, r.c.record_index)
        .where(r.c.event_id.in_([c.event_id for c in changes if c.records])))} if any(
        c.records for c in changes) else {}
    record_updates = [{"b_call_record_id": stored[(c.event_id, rec["record_index"])],
                       **{f"b_{k}": v for k, v in rec.items() if k != "record_index"}}
                      for c in changes for rec in c.records if (c.event_id, rec["record_index"]) in stored]
    if record_updates:
        _update_by_key(conn, r, "call_record_id", [{"b_call_record_id": u["b_call_record_id"],
                                                   "b_dedupe_key": f"moving:{u['b_call_record_id']}"}
                                                  for u in record_updates])
        record_keys = _unique_keys(conn, r, "dedupe_key", "call_record_id",
                                   {u["b_call_record_id"]: u["b_dedupe_key"] for u in record_updates})
        for update in record_updates:
            update["b_dedupe_key"] = record_keys[update["b_call_record_id"]]
        _update_by_key(conn, r, "call_record_id", record_updates)
    return len(changes), len(record_updates)
