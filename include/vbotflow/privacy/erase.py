"""Erasure on request (Law 91/2025/QH15): one person's data out of every table and file of the project.

``erase`` is a plain function with a result object, so the command line and a console can both offer
it. What it does, in this order:

1. finds the person: their number (any spelling) or their CRM contact id, and from those the other
   (CRM contact id, number) pairs the project holds for them, and the names they were sent with;
2. de-identifies the receiver's spool, the dry-run previews and the reports (files first: a spooled
   delivery replayed after the database step would bring the number back);
3. in one transaction: replaces the number by its keyed pseudonym and the CRM contact id by its own
   in ``campaign_contact`` (custom fields dropped), ``contact_outcome``, ``rejected_contact``,
   ``call_attempt`` (key presses dropped) and ``webhook_event`` / ``webhook_call_record`` (raw bodies
   rewritten: name, description, recording and custom fields emptied); adds the number to
   ``suppression`` as an opt-out, the one place it must stay so that it is never called again; and
   records what it did in ``privacy_audit`` under a keyed hash of the person.

Rows are de-identified rather than deleted, so every count and cost (``contact_outcome``,
``kpi_daily``, a rebuild of either) stays what it was. The CRM is its owner's system: nothing is
written there; the result says which of its contacts had outcomes written back.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vbotflow.campaigns.outbox import SENDABLE_STATES
from vbotflow.privacy import audit, rows
from vbotflow.privacy.deidentify import PersonPolicy
from vbotflow.privacy.files import FileResult, erase_from_files
from vbotflow.privacy.matching import national_forms
from vbotflow.privacy.pseudonyms import (
    PrivacyKeyError,
    Pseudonymiser,
    canonical_phone,
    is_contact_pseudonym,
    is_phone_pseudonym,
)
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    campaign_run,
    contact_outcome,
    rejected_contact,
    suppression,
    webhook_event,
)

log = logging.getLogger(__name__)
OPT_OUT = "opt_out"
SOURCE = "erasure"


class ErasureError(ValueError):
    """The request does not name one person in a way the project can find."""


@dataclass(frozen=True)
class ErasureRequest:
    """Who: a phone number (any spelling), or a CRM contact id (optionally of one campaign config)."""

    phone: str | None = None
    crm_contact_id: str | None = None
    config_name: str | None = None

    def checked(self) -> ErasureRequest:
        if bool(self.phone) == bool(self.crm_contact_id):
            raise ErasureError("name the person by exactly one of: a phone number, a CRM contact id")
        if self.config_name and not self.crm_contact_id:
            raise ErasureError("a campaign config narrows a CRM contact id; a phone number needs none")
        if self.phone and canonical_phone(self.phone) is None:
            raise ErasureError("the phone number is not a Vietnamese mobile number in any spelling the project "
                               "reads, so the project cannot have called it; to erase a CRM record whose number "
                               "was invalid, name its CRM contact id")
        return self

    def subject(self) -> str:
        """The identifier the audit hashes."""
        if self.phone:
            return "phone:" + (canonical_phone(self.phone) or "")
        return f"crm:{self.config_name or '*'}:{self.crm_contact_id}"


@dataclass
class ErasureResult:
    """What an erasure did (or, in a dry run, would do). Holds no number and no name."""

    dry_run: bool
    subject_hash: str | None
    rows: dict[str, int]
    files: FileResult
    suppression: str
    crm_contact_ids: list[str] = field(default_factory=list)
    unsent_contacts: int = 0
    awaiting_results: int = 0
    writeback_table: str | None = None
    writeback_rows: int | None = None
    audit_id: int | None = None

    @property
    def found(self) -> bool:
        return any(self.rows.values()) or any(self.files.counts().values())

    def lines(self) -> list[str]:
        """The result in words, for a person (no number, no name)."""
        verb = "would be" if self.dry_run else "were"
        who = f"person {self.subject_hash[:12]}… (keyed hash)" if self.subject_hash else "the person"
        out = [f"{'Dry run, nothing changed: erasure' if self.dry_run else 'Erasure'} of {who}"]
        out += [f"  {table:<20} {n} row(s) {verb} de-identified" for table, n in self.rows.items()]
        out += [f"  {area:<20} {n} file(s) {verb} de-identified" for area, n in self.files.counts().items()]
        out += [f"  could not check (binary or unreadable; look yourself): {p}" for p in self.files.unreadable]
        out.append(f"  suppression          {self.suppression}")
        if self.unsent_contacts:
            out.append(f"  {self.unsent_contacts} contact(s) {verb} taken out of campaign lists not yet sent to VBot")
        if self.awaiting_results:
            out.append(f"  {self.awaiting_results} contact(s) are in campaigns whose results are still coming in: a "
                       "result arriving later holds the number again; run the erasure again once they are in")
        if self.crm_contact_ids:
            held = (f"{self.writeback_rows} row(s) in its table {self.writeback_table}"
                    if self.writeback_rows is not None else f"its table {self.writeback_table} may hold outcomes")
            out.append(f"  CRM (not changed: its owner's system): contact id(s) {', '.join(self.crm_contact_ids)}; "
                       f"{held}; ask the CRM's owner to erase the person there too")
        if self.audit_id is not None:
            out.append(f"  recorded as privacy_audit row {self.audit_id}")
        return out


@dataclass(frozen=True)
class _Person:
    phones: frozenset[str]
    contact_ids: frozenset[tuple[str, str]]  # (config, CRM contact id)
    names: frozenset[str]


def _pairs(conn: Connection, where_by_table: list[tuple[sa.Table, Any]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for table, where in where_by_table:
        found |= {(c, i) for c, i in conn.execute(
            sa.select(table.c.config_name, table.c.crm_contact_id).distinct().where(where))
            if i is not None and not is_contact_pseudonym(i)}
    return found


def _find_person(conn: Connection, request: ErasureRequest) -> _Person:
    tables = (campaign_contact, rejected_contact, contact_outcome)
    if request.phone:
        phones = {canonical_phone(request.phone) or ""}
    else:
        phones = set()
        for table in tables:
            where = table.c.crm_contact_id == request.crm_contact_id
            if request.config_name:
                where = sa.and_(where, table.c.config_name == request.config_name)
            phones |= {p for (p,) in conn.execute(sa.select(table.c.phone).distinct().where(where))
                       if p and not is_phone_pseudonym(p)}
    pairs = _pairs(conn, [(t, t.c.phone.in_(phones)) for t in tables]) if phones else set()
    if request.crm_contact_id:
        pairs |= _pairs(conn, [(t, t.c.crm_contact_id == request.crm_contact_id) for t in tables])
        if request.config_name:
            pairs = {p for p in pairs if p[0] == request.config_name} | {(request.config_name, request.crm_contact_id)}
    names = rows.contact_names(conn, campaign_contact.c.phone.in_(phones)) if phones else set()
    return _Person(frozenset(phones), frozenset(pairs), frozenset(names))


def _pair_match(table: sa.Table, pairs: frozenset[tuple[str, str]]) -> Any:
    if not pairs:
        return sa.false()
    return sa.or_(*(sa.and_(table.c.config_name == c, table.c.crm_contact_id == i) for c, i in sorted(pairs)))


def _like_any(column: Any, phones: frozenset[str]) -> Any:
    forms = sorted({form for phone in phones for form in national_forms(phone)})
    return sa.or_(*(column.like(f"%{form}%") for form in forms)) if forms else sa.false()


def _attempt_ids(conn: Connection, person: _Person) -> list[int]:
    a = call_attempt
    candidates = conn.execute(sa.select(a.c.call_attempt_id, a.c.phone).where(_like_any(a.c.phone, person.phones)))
    return [pk for pk, phone in candidates if canonical_phone(phone) in person.phones]


def _events(conn: Connection, person: _Person, policy: PersonPolicy) -> list[Any]:
    """Webhook events about the person: auto-call results by their typed phone; call histories and
    dead letters by a search of their raw bodies (a batch may name several people)."""
    e = webhook_event
    found = [r for r in conn.execute(sa.select(*rows.EVENT_COLUMNS, e.c.phone).where(
        e.c.kind == "autocall", _like_any(e.c.phone, person.phones))) if canonical_phone(r.phone) in person.phones]
    scan = conn.execute(sa.select(*rows.EVENT_COLUMNS).where(e.c.kind.in_(("call_history", "invalid")))
                        .order_by(e.c.event_id).execution_options(yield_per=500))
    found += [r for r in scan if policy.mentioned_in(bytes(r.body)) or (r.parse_error and policy.mentioned_in(
        r.parse_error))]
    return found


def _campaign_states(conn: Connection, phones: frozenset[str]) -> tuple[int, int]:
    """(contacts in lists not yet sent, contacts in campaigns whose results may still come)."""
    cc, run, co = campaign_contact, campaign_run, contact_outcome
    query = (sa.select(run.c.state, co.c.outcome)
             .select_from(cc.join(run, run.c.run_key == cc.c.run_key)
                          .outerjoin(co, co.c.campaign_contact_id == cc.c.campaign_contact_id))
             .where(cc.c.phone.in_(phones)))
    unsent = awaiting = 0
    for state, outcome in conn.execute(query):
        if state in SENDABLE_STATES:
            unsent += 1
        elif state != "created" or outcome in (None, "pending"):
            awaiting += 1
    return unsent, awaiting


def _suppress(conn: Connection, phones: frozenset[str], now: datetime, *, dry_run: bool) -> tuple[int, str]:
    """The number(s) into ``suppression`` as a permanent opt-out; (rows added or made permanent, in words)."""
    if not phones:
        return 0, "nothing to add (the project holds no valid number of this person)"
    existing = {p: expires for p, expires in conn.execute(
        sa.select(suppression.c.phone, suppression.c.expires_at).where(suppression.c.phone.in_(phones)))}
    new = sorted(phones - set(existing))
    expiring = sorted(p for p, expires in existing.items() if expires is not None)
    if not dry_run:
        if new:
            conn.execute(suppression.insert(), [{"phone": p, "reason": OPT_OUT, "source": SOURCE, "created_at": now}
                                                for p in new])
        if expiring:
            conn.execute(suppression.update().where(suppression.c.phone.in_(expiring))
                         .values(reason=OPT_OUT, source=SOURCE, expires_at=None))
    would = "would be " if dry_run else ""
    parts = []
    if new:
        parts.append(f"{would}added as an opt-out: {len(new)} number(s)")
    if expiring:
        parts.append(f"{would}made permanent: {len(expiring)} expiring entr{'y' if len(expiring) == 1 else 'ies'}")
    already = len(phones) - len(new) - len(expiring)
    if already:
        parts.append(f"already suppressed for good: {already} number(s)")
    return len(new) + len(expiring), "; ".join(parts) + " (kept there so that the person is never called again)"


def _writeback_rows(crm_engine: Engine, table_name: str, contact_ids: list[str]) -> int:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=crm_engine)
    with crm_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)
                            .where(table.c.contact_id.in_(contact_ids))).scalar_one()


def erase(engine: Engine, request: ErasureRequest, *, key: bytes | None, performed_by: str, spool_dir: Path,
          var_dir: Path, dry_run: bool = False, crm_engine: Engine | None = None,
          writeback_table: str = "vbot_call_outcome", now: datetime | None = None) -> ErasureResult:
    """Erase one person (see the module doc); ``key`` may be None only in a dry run."""
    request = request.checked()
    if key is None and not dry_run:
        raise PrivacyKeyError("an erasure needs the pseudonym key (VBOTFLOW_PRIVACY_KEY); nothing was changed")
    now = now or datetime.now(UTC)
    # A dry run without the key still needs pseudonyms to tell what would change: throwaway ones.
    ps = Pseudonymiser(key if key is not None else os.urandom(32))
    subject_hash = ps.subject_hash(request.subject()) if key is not None else None

    with engine.connect() as conn:
        person = _find_person(conn, request)
    policy = PersonPolicy(person.phones, person.names, ps)
    files = erase_from_files(policy, ps, set(person.contact_ids), spool_dir=spool_dir, var_dir=var_dir,
                             dry_run=dry_run)

    cc, co, rj, a = campaign_contact, contact_outcome, rejected_contact, call_attempt
    with engine.begin() as conn:
        unsent, awaiting = _campaign_states(conn, person.phones)
        events = _events(conn, person, policy)
        changes = [c for c in (rows.event_change(r, policy, ps) for r in events) if c is not None]
        counts = {
            "campaign_contact": rows.deidentify_contacts(conn, cc.c.phone.in_(person.phones), ps, now,
                                                         dry_run=dry_run),
            "contact_outcome": rows.deidentify_outcomes(conn, co.c.phone.in_(person.phones), ps, dry_run=dry_run),
            "rejected_contact": rows.deidentify_rejects(
                conn, sa.or_(rj.c.phone.in_(person.phones),
                             sa.and_(rj.c.phone.is_(None), _pair_match(rj, person.contact_ids))), ps, now,
                dry_run=dry_run),
            "call_attempt": rows.deidentify_attempts(conn, a.c.call_attempt_id.in_(_attempt_ids(conn, person)), ps,
                                                     dry_run=dry_run),
        }
        if dry_run:
            counts["webhook_event"] = len(changes)
            counts["webhook_call_record"] = sum(len(c.records) for c in changes)
        else:
            counts["webhook_event"], counts["webhook_call_record"] = rows.apply_event_changes(conn, changes, now)
        added, suppression_words = _suppress(conn, person.phones, now, dry_run=dry_run)
        audit_id = None
        if not dry_run:
            audit_id = audit.record(
                conn, action="erase", performed_at=now, performed_by=performed_by, subject_hash=subject_hash,
                rows={**counts, "suppression": added}, files=files.counts(),
                detail=json.dumps({"named_by": "phone" if request.phone else "crm_contact_id",
                                   "config": request.config_name, "unsent_contacts": unsent,
                                   "awaiting_results": awaiting, "unreadable_files": len(files.unreadable)}))

    contact_ids = sorted({i for _, i in person.contact_ids})
    writeback_rows = _writeback_rows(crm_engine, writeback_table, contact_ids) if crm_engine and contact_ids else None
    result = ErasureResult(dry_run=dry_run, subject_hash=subject_hash, rows=counts, files=files,
                           suppression=suppression_words, crm_contact_ids=contact_ids, unsent_contacts=unsent,
                           awaiting_results=awaiting, writeback_table=writeback_table, writeback_rows=writeback_rows,
                           audit_id=audit_id)
    log.info("Erasure%s of person %s: rows %s, files %s", " (dry run)" if dry_run else "",
             (subject_hash or "")[:12] or "(no key)", counts, files.counts())
    return result
