"""Who must not be on today's list: suppressed numbers, the frequency cap, and list recycling.

Read from the integration DB before the transform; the transform turns them into reject reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.campaigns.config import CampaignConfig
from vbotflow.campaigns.outbox import SENT_STATES
from vbotflow.store.tables import campaign_contact, campaign_run, contact_outcome, suppression
from vbotflow.store.upsert import insert_ignoring_duplicates


def suppressed_phones(engine: Engine, now: datetime | None = None) -> list[str]:
    """Phones in the suppression table that have not expired."""
    now = now or datetime.now(UTC)
    query = sa.select(suppression.c.phone).where(
        sa.or_(suppression.c.expires_at.is_(None), suppression.c.expires_at > now))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def recently_sent_phones(engine: Engine, config: CampaignConfig, run_date: date,
                         now: datetime | None = None) -> list[str]:
    """Phones another campaign run sent to VBot within the frequency cap (this run's own excluded)."""
    if config.frequency_cap_hours <= 0:
        return []
    since = (now or datetime.now(UTC)) - timedelta(hours=config.frequency_cap_hours)
    query = (
        sa.select(campaign_contact.c.phone).distinct()
        .join(campaign_run, campaign_run.c.run_key == campaign_contact.c.run_key)
        .where(campaign_run.c.state.in_(SENT_STATES), campaign_run.c.sent_at >= since,
               sa.not_(sa.and_(campaign_run.c.config_name == config.name,
                               campaign_run.c.run_date == run_date)))
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def add_suppressions(engine: Engine, phones: Iterable[str], reason: str, source: str,
                     now: datetime | None = None) -> int:
    """Add phones to the suppression table (those already there keep their first reason)."""
    now = now or datetime.now(UTC)
    rows = [{"phone": p, "reason": reason, "source": source, "created_at": now} for p in sorted(set(phones))]
    with engine.begin() as conn:
        return insert_ignoring_duplicates(conn, suppression, rows)


def recycling_state(engine: Engine, config_name: str, run_date: date, retry_after_hours: float,
                    now: datetime | None = None) -> tuple[pd.Series, list[str]]:
    """For list recycling: earlier unanswered sends per phone of this config, and phones too recent to retry.

    Returns (attempts used per phone, phones whose last unanswered send is within ``retry_after_hours``).
    """
    now = now or datetime.now(UTC)
    cc, co = campaign_contact, contact_outcome
    query = (
        sa.select(cc.c.phone, sa.func.count().label("used"), sa.func.max(cc.c.created_at).label("last_sent"))
        .join(co, co.c.campaign_contact_id == cc.c.campaign_contact_id)
        .where(cc.c.config_name == config_name, cc.c.run_date < run_date, co.c.outcome == "not_reached")
        .group_by(cc.c.phone)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    used = pd.Series({phone: int(n) for phone, n, _ in rows}, dtype="int64")
    since = now - timedelta(hours=retry_after_hours)
    too_recent = [phone for phone, _, last in rows if last is not None and _aware(last) > since]
    return used, too_recent


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
