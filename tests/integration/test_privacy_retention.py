"""Retention on a database with old and new data: old rows de-identified, new and unreconciled ones
untouched, reconciliation and recycling right afterwards; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.privacy_support import (
    CONFIG,
    KEY,
    backdate,
    build_day,
    kpi_snapshot,
    max_event_id,
    project,
    search_database,
    search_files,
    vietnam_today,
)
from tests.integration.receiver_support import autocall_body, post
from vbotflow.campaigns import exclusions
from vbotflow.campaigns.config import load_config
from vbotflow.privacy import audit
from vbotflow.privacy.deidentify import RETENTION_BODY_NOTE
from vbotflow.privacy.matching import national_forms
from vbotflow.privacy.pseudonyms import is_contact_pseudonym, is_phone_pseudonym
from vbotflow.privacy.retention import RetentionError, apply_retention, check_retention_days
from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.reconcile.outcomes import refresh_outcomes
from vbotflow.store.db import make_engine
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    contact_outcome,
    rejected_contact,
    webhook_call_record,
    webhook_event,
)


def _rows(url: str, run_dates: list, campaigns: list[int], first_event: int, last_event: int) -> dict[str, Any]:
    """Every row of some days: contacts, outcomes, rejects, attempts, events and call records."""
    cc, co, rj, a, e, r = (campaign_contact, contact_outcome, rejected_contact, call_attempt, webhook_event,
                           webhook_call_record)
    events = sa.and_(e.c.event_id > first_event, e.c.event_id <= last_event)
    queries = {
        "campaign_contact": sa.select(cc).where(cc.c.run_date.in_(run_dates)).order_by(cc.c.campaign_contact_id),
        "contact_outcome": sa.select(co).where(co.c.run_date.in_(run_dates)).order_by(co.c.campaign_contact_id),
        "rejected_contact": sa.select(rj).where(rj.c.run_date.in_(run_dates)).order_by(rj.c.rejected_contact_id),
        "call_attempt": sa.select(a).where(a.c.vbot_campaign_id.in_(campaigns)).order_by(a.c.call_attempt_id),
        "webhook_event": sa.select(e).where(events).order_by(e.c.event_id),
        "webhook_call_record": sa.select(r).where(r.c.event_id.in_(sa.select(e.c.event_id).where(events)))
        .order_by(r.c.call_record_id),
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {name: [{k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}
                        for row in conn.execute(q).mappings()] for name, q in queries.items()}
    engine.dispose()
    return found


def _without(rows: dict[str, Any], *columns: str) -> dict[str, Any]:
    return {t: [{k: v for k, v in row.items() if k not in columns} for row in found] for t, found in rows.items()}


def _people(rows: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Numbers and names the rows hold."""
    phones = {r["phone"] for r in rows["campaign_contact"]}
    phones |= {r["phone"] for r in rows["rejected_contact"] if r["phone"]}
    names = {json.loads(r["fields_json"]).get("name") for r in rows["campaign_contact"]}
    return phones, {n for n in names if n}


def _assert_deidentified(rows: dict[str, Any]) -> None:
    assert rows["campaign_contact"] and rows["call_attempt"] and rows["webhook_event"]
    for row in rows["campaign_contact"]:
        assert is_phone_pseudonym(row["phone"]) and is_contact_pseudonym(row["crm_contact_id"])
        assert set(json.loads(row["fields_json"])) <= {"phone", "numberCall"} and row["deidentified_at"]
    for row in rows["contact_outcome"]:
        assert is_phone_pseudonym(row["phone"]) and is_contact_pseudonym(row["crm_contact_id"])
    for row in rows["rejected_contact"]:
        assert row["phone"] is None or is_phone_pseudonym(row["phone"])
        assert row["raw_phone"] == row["phone"] and row["deidentified_at"]
        assert row["crm_contact_id"] is None or is_contact_pseudonym(row["crm_contact_id"])
    for row in rows["call_attempt"]:
        assert is_phone_pseudonym(row["phone"]) and row["action_log"] is None
    for row in rows["webhook_event"]:
        assert row["deidentified_at"], row["event_id"]
        if row["kind"] == "autocall":
            body = json.loads(row["body"])
            assert is_phone_pseudonym(row["phone"]) and body["phone"] == row["phone"]
            assert body["name"] is None and body["action_log"] is None
        elif row["kind"] == "invalid":
            assert row["body"] == RETENTION_BODY_NOTE
    for row in rows["webhook_call_record"]:
        assert is_phone_pseudonym(row["callee"]) and row["record_file"] is None


def _recycling(url: str, config, day, phones: set[str]) -> tuple[dict[str, int], set[str], set[str]]:
    """What tomorrow's list would read about these numbers: attempts used, too recent to retry, frequency cap."""
    engine = make_engine(url)
    used, retry_later = exclusions.recycling_state(engine, CONFIG, day + timedelta(days=1), config.retry_after_hours)
    recent = exclusions.recently_sent_phones(engine, config, day + timedelta(days=1))
    engine.dispose()
    return ({p: int(n) for p, n in used.items() if p in phones}, set(retry_later) & phones, set(recent) & phones)


def test_retention_deidentifies_old_reconciled_data_and_leaves_the_rest(db_url, tmp_path) -> None:
    today = vietnam_today()
    day_a, day_b = today - timedelta(days=120), today - timedelta(days=100)
    with project(db_url, tmp_path) as p:
        config = load_config(p.configs_dir / f"{CONFIG}.yaml")
        campaigns_a = build_day(p, day_a, seed=31, first_campaign_id=100)
        dead = post(p.receiver_url, "/webhooks/vbot", b"not json: call 0912 345 678 back")
        assert dead.status_code == 400
        backdate(p.db_url, day_a, campaigns_a, 0, (today - day_a).days)
        events_a = max_event_id(p.db_url)
        campaigns_b = build_day(p, day_b, seed=32, first_campaign_id=200)
        backdate(p.db_url, day_b, campaigns_b, events_a, (today - day_b).days)
        events_b = max_event_id(p.db_url)
        campaigns_c = build_day(p, today, seed=33, first_campaign_id=300)
        events_c = max_event_id(p.db_url)
        old_a = _rows(p.db_url, [day_a], campaigns_a, 0, events_a)
        # A result of each of day B's campaigns comes in late, past the reconcile watermark: day B is not reconciled.
        late_ones = {}
        for contact in _rows(p.db_url, [day_b], campaigns_b, events_a, events_b)["campaign_contact"]:
            late_ones.setdefault(contact["run_key"], contact)
        assert len(late_ones) == len(campaigns_b) >= 2
        engine = make_engine(p.db_url)
        for campaign_id, contact in zip(campaigns_b, sorted(late_ones.values(), key=lambda c: c["run_key"]),
                                        strict=True):
            late = post(p.receiver_url, "/webhooks/vbot", autocall_body(
                campaign_id=campaign_id, phone=contact["phone"], create_at=f"{day_b:%m/%d/%Y} 16:40:00", status=200))
            assert late.status_code == 200
        someone_b = next(iter(late_ones.values()))
        assert {e["kind"] for e in old_a["webhook_event"]} == {"autocall", "call_history", "invalid"}
        before = kpi_snapshot(p.db_url, day_a, today, rebuild=True)
        old_a = _rows(p.db_url, [day_a], campaigns_a, 0, events_a)  # as the rebuild left them
        old_b = _rows(p.db_url, [day_b], campaigns_b, events_a, max_event_id(p.db_url))
        new_c = _rows(p.db_url, [today], campaigns_c, events_b, events_c)
        phones_c, names_c = _people(new_c)
        recycling = _recycling(p.db_url, config, today, phones_c)
        previews = sorted(str(f.relative_to(p.var_dir)) for f in (p.var_dir / "previews").glob("*/*"))
        assert len(previews) == 6

        dry = apply_retention(engine, key=KEY.encode(), retention_days=90, var_dir=p.var_dir, dry_run=True)
        assert dry.rows["campaign_contact"] == len(old_a["campaign_contact"]) and dry.previews_deleted == 4
        assert _rows(p.db_url, [day_a], campaigns_a, 0, events_a) == old_a  # a dry run changes nothing
        assert audit.entries(engine) == []

        done = apply_retention(engine, key=KEY.encode(), retention_days=90, var_dir=p.var_dir,
                               performed_by="test")
        assert done.skipped["old campaign run(s) not reconciled yet"] == len(campaigns_b)
        assert done.skipped["old call history event(s) naming a campaign not reconciled yet"] > 0
        _assert_deidentified(_rows(p.db_url, [day_a], campaigns_a, 0, events_a))
        # Day B is not reconciled: all it holds stays, but its rejects (reconciliation never reads them, only counts).
        rows_b = _rows(p.db_url, [day_b], campaigns_b, events_a, max_event_id(p.db_url))
        assert {**rows_b, "rejected_contact": []} == {**old_b, "rejected_contact": []}
        assert len(rows_b["rejected_contact"]) == len(old_b["rejected_contact"]) > 0
        assert all(r["deidentified_at"] and is_contact_pseudonym(r["crm_contact_id"])
                   for r in rows_b["rejected_contact"])
        assert _rows(p.db_url, [today], campaigns_c, events_b, events_c) == new_c  # new
        assert sorted(str(f.relative_to(p.var_dir)) for f in (p.var_dir / "previews").glob("*/*")) == [
            f for f in previews if today.isoformat() in f]

        # Reconciliation reads what it read before: the same outcomes and KPIs, no attempt twice.
        assert kpi_snapshot(p.db_url, day_a, today) == before
        assert kpi_snapshot(p.db_url, day_a, today, rebuild=True) == before
        assert _recycling(p.db_url, config, today, phones_c) == recycling
        # The late result is reconciled now, and joins day B's contact.
        assert parse_new_events(engine, settle_seconds=0).attempts_added == len(campaigns_b)
        refresh_outcomes(engine, day_b, day_b, missing_after_hours=0, now=datetime.now(UTC) + timedelta(days=1))
        with engine.connect() as conn:
            outcome = conn.execute(sa.select(contact_outcome.c.outcome).where(
                contact_outcome.c.phone == someone_b["phone"], contact_outcome.c.run_date == day_b)).scalar_one()
        assert outcome == "answered"
        assert parse_new_events(engine, settle_seconds=0, full=True).attempts_added == 0
        after_late = kpi_snapshot(p.db_url, day_a, today, rebuild=True)

        again = apply_retention(engine, key=KEY.encode(), retention_days=90, var_dir=p.var_dir, performed_by="test")
        assert again.rows["campaign_contact"] == len(old_b["campaign_contact"])
        assert not any(again.skipped.values())
        _assert_deidentified(_rows(p.db_url, [day_a, day_b], campaigns_a + campaigns_b, 0, events_b))
        # (outcomes were rebuilt in between: only their time of rebuild differs)
        assert _without(_rows(p.db_url, [today], campaigns_c, events_b, events_c), "updated_at") == _without(
            new_c, "updated_at")
        assert kpi_snapshot(p.db_url, day_a, today, rebuild=True) == after_late
        assert [e["action"] for e in audit.entries(engine)] == ["retention", "retention"]
        engine.dispose()

        # Numbers and names only the old days held are gone from every table and file.
        phones_old, names_old = _people(old_a)
        phones_b, names_b = _people(old_b)
        gone_phones = (phones_old | phones_b) - phones_c
        nationals = tuple(sorted({f for phone in gone_phones for f in national_forms(phone)}))
        gone_names = tuple(sorted((names_old | names_b) - names_c))
        assert len(nationals) > 20 and len(gone_names) > 20
        criteria = {"nationals": nationals + ("912345678",), "names": gone_names}
        assert search_database(p.db_url, **criteria) == []
        assert search_files(p.var_dir, **criteria) == []


def test_retention_refuses_a_period_shorter_than_what_the_configs_look_back(tmp_path) -> None:
    from tests.integration.campaign_env import write_test_config

    config = load_config(write_test_config(tmp_path, CONFIG, recycling={"max_attempts": 3,
                                                                         "retry_after_hours": 24 * 10}))
    with pytest.raises(RetentionError, match=r"retention_days 7 is too short: campaign config payment_reminder "
                                             r"looks back 240 h .*keep at least 12 days\. Nothing was changed\."):
        check_retention_days(7, [config])
    check_retention_days(12, [config])
