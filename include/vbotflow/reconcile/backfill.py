"""Results that never arrived by webhook, fetched from VBot's call history API (``historycall/getAll``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.phone.rules import UnreadablePhone, dial_digits, domestic_form
from vbotflow.privacy.masking import mask_phone
from vbotflow.privacy.pseudonyms import phone_is_pseudonym
from vbotflow.store.tables import call_attempt, campaign_run, contact_outcome
from vbotflow.store.upsert import insert_ignoring_duplicates
from vbotflow.vbot.status import DISPOSITION_STATUS, STATUS_CLASSES, status_class
from vbotflow.vbot.timestamps import parse_vbot_time
from vbotflow.vbot.values import parse_duration_seconds, parse_money

log = logging.getLogger(__name__)

# fetch(phone, page, size) -> the answer of getAll: {"data": [call history records], "total": n, ...}
HistoryFetcher = Callable[[str, int, int], dict[str, Any]]
_SOURCE_CAMPAIGN = re.compile(r"autocall:(\d+)$")
NOTHING = Decimal("0.00")  # what an unreadable amount counts for: call_attempt's money is NOT NULL


def missing_contacts(engine: Engine, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """Contacts whose outcome is ``missing``, with their campaign and when it was sent (erased ones left out:
    VBot is never asked about a pseudonym)."""
    co, run = contact_outcome, campaign_run
    query = (sa.select(co.c.vbot_campaign_id, co.c.phone, run.c.sent_at)
             .join(run, run.c.run_key == co.c.run_key)
             .where(co.c.outcome == "missing", co.c.run_date >= date_from, co.c.run_date <= date_to,
                    ~phone_is_pseudonym(co.c.phone))
             .order_by(co.c.vbot_campaign_id, co.c.phone))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def attempt_from_record(record: dict[str, Any], campaign_id: int, phone: str, sent_at: datetime | None,
                        now: datetime) -> dict[str, Any] | None:
    """A call history record as a call attempt of ``campaign_id``, or None when it is another call.

    A record that names its campaign (``source`` ``autocall:<id>``) is matched on it; one that does
    not is taken only if it is a call to the phone made after the campaign was sent.
    """
    source = _SOURCE_CAMPAIGN.search(str(record.get("source") or ""))
    if source and int(source.group(1)) != campaign_id:
        return None
    try:
        callee = domestic_form(dial_digits(str(record.get("callee") or "")))
    except UnreadablePhone:
        return None
    if callee != phone:
        return None
    try:
        called_at = parse_vbot_time(str(record.get("date_create") or ""))
    except ValueError:
        return None
    if not source and sent_at is not None and called_at < sent_at:
        return None
    disposition = str(record.get("disposition") or "").upper()
    error = record.get("error")
    # Where VBot puts an auto-call status in ``error`` (101…106), it is more precise than the disposition.
    code = int(error) if isinstance(error, int) and error in STATUS_CLASSES else DISPOSITION_STATUS.get(disposition, 0)
    return {
        "source": "history_api", "event_id": None, "vbot_campaign_id": campaign_id, "phone": phone,
        "called_at": called_at, "status_code": code, "status_class": status_class(code),
        "disposition": disposition[:40] or None, "hotline": str(record.get("hotline_number") or "")[:32] or None,
        "duration_seconds": parse_duration_seconds(record.get("time_call")) or 0,
        "postage": parse_money(record.get("postage")) or NOTHING,
        # Call history (2a) names no service charge; a record that carries one is taken at its word.
        "service_charge": parse_money(record.get("service_charge")) or NOTHING,
        "action_log": None, "parsed_at": now,
    }


def backfill_missing(engine: Engine, fetch: HistoryFetcher, date_from: date, date_to: date, *,
                     page_size: int = 100, max_pages: int = 10, now: datetime | None = None) -> int:
    """Ask the history API about every missing contact; returns the attempts added."""
    now = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    missing = missing_contacts(engine, date_from, date_to)
    for contact in missing:
        sent_at = contact["sent_at"]
        sent_at = sent_at if sent_at is None or sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
        found = 0
        for page in range(1, max_pages + 1):
            answer = fetch(contact["phone"], page, page_size)
            records = answer.get("data") or []
            for record in records:
                attempt = attempt_from_record(record, contact["vbot_campaign_id"], contact["phone"], sent_at, now)
                if attempt:
                    rows.append(attempt)
                    found += 1
            if len(records) < page_size:
                break
        log.info("History API: %d call(s) found for %s in campaign %s", found, mask_phone(contact["phone"]),
                 contact["vbot_campaign_id"])
    # One insert for all contacts: counting call_attempt around each contact's insert would scan it per contact.
    with engine.begin() as conn:
        added = insert_ignoring_duplicates(conn, call_attempt, rows)
    log.info("History backfill: %d contact(s) without a result looked up, %d call attempt(s) added",
             len(missing), added)
    return added
