"""``call_attempt`` joined to ``campaign_run`` and ``campaign_contact`` → ``contact_outcome``.

Grain: one row per contact per campaign (per ``campaign_contact`` row of a created run).
The rule: any ANSWER (200) wins; otherwise the latest attempt's status decides (ties on the time:
the attempt parsed last). A contact without attempts is ``missing`` once ``missing_after_hours``
have passed since its campaign was sent, ``pending`` before. Rebuilt for a date range in one
transaction (delete + INSERT … SELECT), so a rerun gives the same rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.store.money import hundredths
from vbotflow.store.tables import call_attempt, campaign_contact, campaign_run, contact_outcome
from vbotflow.vbot.status import ANSWERED
from vbotflow.vbot.timestamps import vietnam_days_in_utc

log = logging.getLogger(__name__)

DEFAULT_MISSING_AFTER_HOURS = 24


def refresh_outcomes(engine: Engine, date_from: date, date_to: date, *,
                     missing_after_hours: float = DEFAULT_MISSING_AFTER_HOURS, now: datetime | None = None) -> int:
    """Rebuild the outcomes of the campaign runs dated ``date_from``..``date_to``; returns the row count."""
    now = now or datetime.now(UTC)
    cc, run, a = campaign_contact, campaign_run, call_attempt
    in_range = sa.and_(run.c.run_date >= date_from, run.c.run_date <= date_to, run.c.state == "created")
    campaigns = sa.select(run.c.vbot_campaign_id).where(in_range)

    answered = sa.case((a.c.status_code == ANSWERED, 1), else_=0)
    totals = (
        sa.select(
            a.c.vbot_campaign_id, a.c.phone,
            sa.func.count().label("attempts"),
            sa.func.min(a.c.called_at).label("first_called_at"),
            sa.func.max(a.c.called_at).label("last_called_at"),
            sa.func.sum(sa.case((a.c.status_code == ANSWERED, a.c.duration_seconds), else_=0)).label("talk"),
            sa.func.sum(hundredths(a.c.postage)).label("postage_h"),
            sa.func.sum(hundredths(a.c.service_charge)).label("service_h"),
            sa.func.max(answered).label("answered"),
        )
        .where(a.c.vbot_campaign_id.in_(campaigns))
        .group_by(a.c.vbot_campaign_id, a.c.phone)
        .subquery("totals")
    )
    ranked = (
        sa.select(
            a.c.vbot_campaign_id, a.c.phone, a.c.status_code, a.c.status_class,
            sa.func.row_number().over(partition_by=(a.c.vbot_campaign_id, a.c.phone),
                                      order_by=(a.c.called_at.desc(), a.c.call_attempt_id.desc())).label("rn"),
        )
        .where(a.c.vbot_campaign_id.in_(campaigns))
        .subquery("ranked")
    )
    is_answered = sa.func.coalesce(totals.c.answered, 0) == 1
    missing_since = now - timedelta(hours=missing_after_hours)
    outcome = sa.case(
        (is_answered, sa.literal("answered")),
        (ranked.c.status_class.is_not(None), ranked.c.status_class),
        (run.c.sent_at <= missing_since, sa.literal("missing")),
        else_=sa.literal("pending"),
    )
    postage_h = sa.func.coalesce(totals.c.postage_h, 0)
    service_h = sa.func.coalesce(totals.c.service_h, 0)
    select = (
        sa.select(
            cc.c.campaign_contact_id, cc.c.run_key, cc.c.config_name, cc.c.run_date, cc.c.crm_contact_id,
            cc.c.phone, run.c.vbot_campaign_id, outcome,
            sa.case((is_answered, ANSWERED), else_=ranked.c.status_code),
            sa.func.coalesce(totals.c.attempts, 0), totals.c.first_called_at, totals.c.last_called_at,
            sa.func.coalesce(totals.c.talk, 0), postage_h / 100.0, service_h / 100.0, (postage_h + service_h) / 100.0,
            is_answered, sa.literal(now, sa.DateTime(timezone=True)),
        )
        .select_from(cc)
        .join(run, run.c.run_key == cc.c.run_key)
        .outerjoin(totals, sa.and_(totals.c.vbot_campaign_id == run.c.vbot_campaign_id,
                                   totals.c.phone == cc.c.phone))
        .outerjoin(ranked, sa.and_(ranked.c.vbot_campaign_id == run.c.vbot_campaign_id,
                                   ranked.c.phone == cc.c.phone, ranked.c.rn == 1))
        .where(in_range)
    )
    columns = ["campaign_contact_id", "run_key", "config_name", "run_date", "crm_contact_id", "phone",
               "vbot_campaign_id", "outcome", "final_status_code", "attempts", "first_called_at", "last_called_at",
               "talk_seconds", "postage", "service_charge", "total_cost", "is_answered", "updated_at"]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))  # the ranking sorts in memory, not on disk
        conn.execute(contact_outcome.delete().where(contact_outcome.c.run_date >= date_from,
                                                    contact_outcome.c.run_date <= date_to))
        conn.execute(contact_outcome.insert().from_select(columns, select))
        by_outcome = dict(conn.execute(
            sa.select(contact_outcome.c.outcome, sa.func.count())
            .where(contact_outcome.c.run_date >= date_from, contact_outcome.c.run_date <= date_to)
            .group_by(contact_outcome.c.outcome)).all())
    total = sum(by_outcome.values())
    log.info("Outcomes of the campaign runs dated %s to %s rebuilt: %d contact(s) %s", date_from, date_to, total,
             dict(sorted(by_outcome.items())))
    return total


def orphan_attempts(engine: Engine, date_from: date, date_to: date) -> list[dict]:
    """Attempts (called in the date range, Vietnam days) that match no contact this project sent."""
    a, run, cc = call_attempt, campaign_run, campaign_contact
    start, end = vietnam_days_in_utc(date_from, date_to)
    matched = (sa.select(sa.literal(1)).select_from(cc.join(run, run.c.run_key == cc.c.run_key))
               .where(run.c.vbot_campaign_id == a.c.vbot_campaign_id, cc.c.phone == a.c.phone))
    query = (sa.select(a.c.call_attempt_id, a.c.vbot_campaign_id, a.c.phone, a.c.called_at, a.c.status_code,
                       a.c.source, a.c.event_id)
             .where(a.c.called_at >= start, a.c.called_at < end, ~sa.exists(matched))
             .order_by(a.c.called_at))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
