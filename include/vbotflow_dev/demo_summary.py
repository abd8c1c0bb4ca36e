"""The numbers the demo prints, read from the integration DB (so a test can compare them)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from vbotflow.store.db import make_engine
from vbotflow.store.money import hundredths
from vbotflow.store.tables import call_attempt, campaign_run, contact_outcome, rejected_contact


def demo_summary(db_url: str, day: date) -> dict[str, Any]:
    """Campaigns, contacts, rejects by reason, answered, attempts and cost of one day's runs."""
    engine = make_engine(db_url)
    co, run, rj = contact_outcome, campaign_run, rejected_contact
    try:
        with engine.connect() as conn:
            campaigns, sent = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(run.c.phone_count), 0))
                .where(run.c.run_date == day, run.c.state == "created")).one()
            rejects = dict(conn.execute(sa.select(rj.c.reason, sa.func.count()).where(rj.c.run_date == day)
                                        .group_by(rj.c.reason).order_by(rj.c.reason)).all())
            answered, cost_h = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(sa.case((co.c.is_answered, 1), else_=0)), 0),
                          sa.func.coalesce(sa.func.sum(hundredths(co.c.total_cost)), 0))
                .where(co.c.run_date == day)).one()
            attempts = conn.execute(
                sa.select(sa.func.count()).select_from(call_attempt).where(call_attempt.c.vbot_campaign_id.in_(
                    sa.select(run.c.vbot_campaign_id).where(run.c.run_date == day)))).scalar_one()
    finally:
        engine.dispose()
    return {"date": day.isoformat(), "campaigns": int(campaigns), "contacts_sent": int(sent),
            "rejected": sum(rejects.values()), "rejected_by_reason": {k: int(v) for k, v in rejects.items()},
            "answered": int(answered), "attempts": int(attempts), "total_cost": f"{int(cost_h) / 100:.2f}"}
