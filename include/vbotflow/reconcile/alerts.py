"""Conditions that must stop the line: an account problem at VBot, or a campaign run gone wrong."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.store.tables import call_attempt, campaign_run, contact_outcome, rejected_contact
from vbotflow.vbot.status import ACCOUNT_ALERT_CODES, STATUS_NAMES
from vbotflow.vbot.timestamps import vietnam_days_in_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    kind: str
    message: str


def account_alerts(engine: Engine, date_from: date, date_to: date) -> list[Alert]:
    """Any 103 (balance too low) or 105 (package expired) in calls of the range: every call will fail."""
    start, end = vietnam_days_in_utc(date_from, date_to)
    a = call_attempt
    query = (sa.select(a.c.status_code, sa.func.count(), sa.func.min(a.c.called_at), sa.func.max(a.c.called_at))
             .where(a.c.status_code.in_(ACCOUNT_ALERT_CODES), a.c.called_at >= start, a.c.called_at < end)
             .group_by(a.c.status_code).order_by(a.c.status_code))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        log.info("No call of %s to %s was refused for the account (103 balance, 105 package)", date_from, date_to)
    return [Alert("account", f"VBot answered {code} ({STATUS_NAMES[code]}) to {n} call(s) between "
                  f"{first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC: the VBot account needs attention "
                  "(top up the balance or renew the package); until then every call fails.")
            for code, n, first, last in rows]


def rate_alerts(engine: Engine, date_from: date, date_to: date, *, max_reject_rate: float,
                max_missing_rate: float) -> list[Alert]:
    """Per config and day: the share of rejected rows, and of contacts whose result never came."""
    co, rj, run = contact_outcome, rejected_contact, campaign_run
    alerts: list[Alert] = []
    with engine.connect() as conn:
        sent = {(c, d): n for c, d, n in conn.execute(
            sa.select(run.c.config_name, run.c.run_date, sa.func.sum(run.c.phone_count))
            .where(run.c.run_date >= date_from, run.c.run_date <= date_to)
            .group_by(run.c.config_name, run.c.run_date))}
        rejected = {(c, d): n for c, d, n in conn.execute(
            sa.select(rj.c.config_name, rj.c.run_date, sa.func.count())
            .where(rj.c.run_date >= date_from, rj.c.run_date <= date_to)
            .group_by(rj.c.config_name, rj.c.run_date))}
        outcomes = conn.execute(
            sa.select(co.c.config_name, co.c.run_date, sa.func.count(),
                      sa.func.sum(sa.case((co.c.outcome == "missing", 1), else_=0)))
            .where(co.c.run_date >= date_from, co.c.run_date <= date_to)
            .group_by(co.c.config_name, co.c.run_date)).all()
    for key in sorted(set(sent) | set(rejected)):
        total = int(sent.get(key) or 0) + int(rejected.get(key) or 0)
        rate = int(rejected.get(key) or 0) / total if total else 0.0
        if rate > max_reject_rate:
            alerts.append(Alert("reject_rate", f"{key[0]} {key[1]}: {rate:.0%} of the extracted rows were rejected "
                                f"(threshold {max_reject_rate:.0%}); see rejected_contact for the reasons"))
    for config_name, day, contacts, missing in outcomes:
        rate = int(missing or 0) / contacts if contacts else 0.0
        if rate > max_missing_rate:
            alerts.append(Alert("missing_rate", f"{config_name} {day}: no result came for {rate:.0%} of the "
                                f"contacts (threshold {max_missing_rate:.0%}); check the receiver and VBot's webhook"))
    if not alerts:
        log.info("Reject and missing-result rates of %d config-day(s) of %s to %s are within the thresholds "
                 "(reject %.0f%%, missing %.0f%%)", len(set(sent) | set(rejected) | {(c, d) for c, d, *_ in outcomes}),
                 date_from, date_to, max_reject_rate * 100, max_missing_rate * 100)
    return alerts
