"""Retention: personal data is kept no longer than its purpose needs (Law 91/2025/QH15).

Once a day (DAG ``vbot_retention``) everything older than ``retention_days`` (default 90) is
de-identified, with the same keyed pseudonyms as an erasure: contacts of campaign runs dated before
the cutoff, their outcomes and call attempts, raw webhook bodies, call records and dead letters
received before it, rejected rows dated before it; preview folders of those dates are deleted.
Counts, costs, statuses and dates stay, so the KPIs, a rebuild of outcomes and recycling read what
they read before (recycling simply no longer recognises a number in sends older than the cutoff).

What reconciliation has not processed is never touched: webhook events past the reconcile
watermark, and every campaign run that is not reconciled yet (a contact without a final outcome,
an event of its campaign past the watermark, or the run still in flight: ``sending``/``ambiguous``).
Numbers that results marked for suppression (opt-outs, bad numbers) are fed into ``suppression``
before their call records are de-identified.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vbotflow.campaigns.outbox import IN_FLIGHT_STATES
from vbotflow.privacy import DEFAULT_RETENTION_DAYS, audit, rows
from vbotflow.privacy.deidentify import EveryonePolicy
from vbotflow.privacy.files import delete_old_previews
from vbotflow.privacy.pseudonyms import Pseudonymiser, phone_is_pseudonym
from vbotflow.reconcile.attempts import watermark
from vbotflow.reconcile.feedback import feed_suppression
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    campaign_run,
    contact_outcome,
    rejected_contact,
    webhook_event,
)
from vbotflow.vbot.timestamps import VIETNAM

log = logging.getLogger(__name__)
__all__ = ["DEFAULT_RETENTION_DAYS", "RetentionResult", "apply_retention", "check_retention_days"]


class RetentionError(ValueError):
    """The retention period is too short for what the campaign configs still need."""


def minimum_days(hours_needed: Iterable[int]) -> int:
    """The shortest retention that keeps what the frequency cap and recycling look back at, plus a day."""
    return max([0, *hours_needed]) // 24 + 2


def check_retention_days(retention_days: int, configs: Iterable[Any]) -> None:
    """Refuse a period shorter than the look-back of a campaign config (frequency cap, retry spacing)."""
    configs = list(configs)
    needed = minimum_days(h for c in configs for h in (c.frequency_cap_hours, c.retry_after_hours))
    if retention_days < needed:
        longest = max(configs, key=lambda c: max(c.frequency_cap_hours, c.retry_after_hours))
        raise RetentionError(
            f"retention_days {retention_days} is too short: campaign config {longest.name} looks back "
            f"{max(longest.frequency_cap_hours, longest.retry_after_hours)} h (frequency cap, retry spacing), "
            f"so keep at least {needed} days. Nothing was changed.")


@dataclass
class RetentionResult:
    """What a retention run did (in a dry run: would do); counts only, fit for XCom."""

    dry_run: bool
    retention_days: int
    cutoff_date: str
    rows: dict[str, int]
    previews_deleted: int
    skipped: dict[str, int] = field(default_factory=dict)
    audit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        out = [f"{'Dry run, nothing changed: retention' if self.dry_run else 'Retention'} of "
               f"{self.retention_days} days: data of campaign runs dated before {self.cutoff_date}"]
        out += [f"  {table:<20} {n} row(s) {verb} de-identified" for table, n in self.rows.items()]
        out.append(f"  previews             {self.previews_deleted} folder(s) {verb} deleted")
        out += [f"  left as they are: {n} {what}" for what, n in self.skipped.items() if n]
        if self.audit_id is not None:
            out.append(f"  recorded as privacy_audit row {self.audit_id}")
        return out


def _unreconciled_runs(conn: Connection, cutoff: date, mark: int) -> tuple[set[str], set[str]]:
    """Old runs reconciliation has not finished: (no final outcome or events past the watermark, in flight)."""
    cc, co, run, e = campaign_contact, contact_outcome, campaign_run, webhook_event
    old = run.c.run_date < cutoff
    no_outcome = set(conn.execute(
        sa.select(cc.c.run_key).distinct()
        .select_from(cc.join(run, run.c.run_key == cc.c.run_key)
                     .outerjoin(co, co.c.campaign_contact_id == cc.c.campaign_contact_id))
        .where(old, run.c.state == "created", cc.c.deidentified_at.is_(None),
               sa.or_(co.c.campaign_contact_id.is_(None), co.c.outcome == "pending"))).scalars())
    late_events = set(conn.execute(
        sa.select(run.c.run_key).distinct()
        .select_from(run.join(e, e.c.vbot_campaign_id == run.c.vbot_campaign_id))
        .where(old, e.c.event_id > mark)).scalars())
    in_flight = set(conn.execute(sa.select(run.c.run_key).where(old, run.c.state.in_(IN_FLIGHT_STATES))).scalars())
    return no_outcome | late_events, in_flight


_SOURCE_CAMPAIGN = re.compile(r"autocall:(\d+)$")  # a record's ``source``, as the history backfill reads it


def _campaigns_named(body: bytes) -> set[int]:
    """The VBot campaign ids a call history delivery's records name."""
    try:
        document = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return set()
    data = document.get("data") if isinstance(document, dict) else None
    records = data if isinstance(data, list) else [data]
    return {int(m.group(1)) for r in records if isinstance(r, dict)
            for m in [_SOURCE_CAMPAIGN.search(str(r.get("source") or ""))] if m}


def apply_retention(engine: Engine, *, key: bytes, retention_days: int = DEFAULT_RETENTION_DAYS, var_dir: Path,
                    dry_run: bool = False, performed_by: str = "vbot_retention",
                    now: datetime | None = None) -> RetentionResult:
    """De-identify what is older than ``retention_days`` and reconciled (see the module doc)."""
    if retention_days < 1:
        raise RetentionError(f"retention_days must be at least 1, got {retention_days}")
    now = now or datetime.now(UTC)
    cutoff = now.astimezone(VIETNAM).date() - timedelta(days=retention_days)
    cutoff_at = now - timedelta(days=retention_days)
    ps = Pseudonymiser(key)
    policy = EveryonePolicy(ps)
    cc, co, rj, a, run, e = (campaign_contact, contact_outcome, rejected_contact, call_attempt, campaign_run,
                             webhook_event)

    if not dry_run:
        # Opt-outs and bad numbers learnt from results go to suppression before their records lose the number.
        feed_suppression(engine, now=now)
    with engine.begin() as conn:
        mark = watermark(conn)
        unreconciled, in_flight = _unreconciled_runs(conn, cutoff, mark)
        kept_runs = unreconciled | in_flight
        eligible = sa.and_(run.c.run_date < cutoff, run.c.run_key.not_in(kept_runs) if kept_runs else sa.true())
        eligible_keys = sa.select(run.c.run_key).where(eligible)
        eligible_campaigns = sa.select(run.c.vbot_campaign_id).where(eligible, run.c.vbot_campaign_id.is_not(None))
        # Campaigns whose data stays: every run that is recent or not reconciled yet.
        kept_campaigns = sa.select(run.c.vbot_campaign_id).where(
            run.c.vbot_campaign_id.is_not(None), sa.not_(eligible))

        # Attempts of eligible campaigns; and old ones of campaigns this project never sent (orphans).
        attempt_old = sa.or_(a.c.vbot_campaign_id.in_(eligible_campaigns),
                             sa.and_(a.c.called_at < cutoff_at, a.c.vbot_campaign_id.not_in(kept_campaigns)))
        event_old = sa.and_(e.c.deidentified_at.is_(None), e.c.event_id <= mark, sa.or_(
            sa.and_(e.c.kind == "autocall", sa.or_(
                e.c.vbot_campaign_id.in_(eligible_campaigns),
                sa.and_(e.c.received_at < cutoff_at, e.c.vbot_campaign_id.not_in(kept_campaigns)))),
            sa.and_(e.c.kind.in_(("call_history", "invalid")), e.c.received_at < cutoff_at)))

        counts = {
            "campaign_contact": rows.deidentify_contacts(
                conn, sa.and_(cc.c.run_key.in_(eligible_keys), cc.c.deidentified_at.is_(None)), ps, now,
                dry_run=dry_run),
            "contact_outcome": rows.deidentify_outcomes(
                conn, sa.and_(co.c.run_key.in_(eligible_keys), sa.not_(phone_is_pseudonym(co.c.phone))), ps,
                dry_run=dry_run),
            "call_attempt": rows.deidentify_attempts(
                conn, sa.and_(attempt_old, sa.not_(phone_is_pseudonym(a.c.phone))), ps, dry_run=dry_run),
            "rejected_contact": rows.deidentify_rejects(
                conn, sa.and_(rj.c.run_date < cutoff, rj.c.deidentified_at.is_(None)), ps, now, dry_run=dry_run),
        }
        kept_ids = set(conn.execute(kept_campaigns).scalars())
        counts["webhook_event"] = counts["webhook_call_record"] = 0
        history_kept = last = 0
        while batch := conn.execute(sa.select(*rows.EVENT_COLUMNS).where(event_old, e.c.event_id > last)
                                    .order_by(e.c.event_id).limit(rows.BATCH)).all():
            last = batch[-1].event_id
            # A call history record names its campaign ("autocall:<id>"): one still being reconciled stays.
            todo = [r for r in batch if r.kind != "call_history" or not _campaigns_named(r.body) & kept_ids]
            history_kept += len(batch) - len(todo)
            changes = [rows.event_change(r, policy, ps) for r in todo]
            if dry_run:
                counts["webhook_event"] += sum(1 for c in changes if c)
                counts["webhook_call_record"] += sum(len(c.records) for c in changes if c)
                continue
            # An event with nothing personal in it is marked too: it has been looked at.
            untouched = [r.event_id for r, c in zip(todo, changes, strict=True) if c is None]
            if untouched:
                conn.execute(e.update().where(e.c.event_id.in_(untouched)).values(deidentified_at=now))
            events, records = rows.apply_event_changes(conn, [c for c in changes if c], now)
            counts["webhook_event"] += events
            counts["webhook_call_record"] += records
        skipped = {
            "old campaign run(s) not reconciled yet": len(unreconciled - in_flight),
            "old campaign run(s) still in flight (sending/ambiguous)": len(in_flight),
            "old call history event(s) naming a campaign not reconciled yet": history_kept,
            "old webhook event(s) past the reconcile watermark": conn.execute(
                sa.select(sa.func.count()).where(e.c.event_id > mark, e.c.received_at < cutoff_at)).scalar_one(),
        }
        previews = delete_old_previews(var_dir, cutoff, dry_run=dry_run)
        audit_id = None
        if not dry_run:
            audit_id = audit.record(conn, action="retention", performed_at=now, performed_by=performed_by,
                                    subject_hash=None, rows=counts, files={"previews_deleted": len(previews)},
                                    detail=json.dumps({"retention_days": retention_days,
                                                       "cutoff_date": cutoff.isoformat(), "skipped": skipped}))
    result = RetentionResult(dry_run=dry_run, retention_days=retention_days, cutoff_date=cutoff.isoformat(),
                             rows=counts, previews_deleted=len(previews), skipped=skipped, audit_id=audit_id)
    log.info("Retention%s before %s: rows %s; %d preview folder(s); left as they are: %s",
             " (dry run)" if dry_run else "", cutoff, counts, len(previews), skipped)
    return result
