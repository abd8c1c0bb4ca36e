"""A known day of campaign runs, rejects and outcomes for the console's tests (and the figures they expect).

Written with the project's own tables and KPI refresh, so the figures come out of the same code the
reconciliation runs; the expected values below are worked out by hand from the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from vbotflow.campaigns import outbox
from vbotflow.reconcile.kpi import refresh_kpis
from vbotflow.store.tables import campaign_run, contact_outcome, rejected_contact

DAY = date(2026, 11, 26)
DAY_BEFORE = DAY - timedelta(days=1)
PAY, APPT = "payment_reminder", "appointment_confirmation"
AMBIGUOUS_KEY = f"{PAY}/{DAY.isoformat()}/002"
SENDING_KEY = f"{APPT}/{DAY.isoformat()}/002"  # an attempt that died mid-POST: in flight, like ambiguous
# Phones that must never appear unmasked in anything the console answers.
PHONES = ("0912345678", "0987654321", "0388888888", "0901234567", "0977000111", "0355123456")
_CREATED_AT = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam


def _run(config: str, day: date, chunk: int, state: str, phones: int, vbot_id: int | None) -> dict:
    spec = outbox.ChunkSpec(config, day, chunk, 2932, f"{config}_{day:%Y%m%d}_{chunk}", phones, f"{chunk}" * 64)
    row = outbox.new_row(spec, "pending", _CREATED_AT)
    row.update(state=state, vbot_campaign_id=vbot_id,
               error_message="read timeout after the body was sent" if state == "ambiguous" else None)
    return row


def _outcome(ident: int, run_key: str, config: str, day: date, phone: str, vbot_id: int, outcome: str,
             attempts: int, talk: int, cost: str) -> dict:
    return {"campaign_contact_id": ident, "run_key": run_key, "config_name": config, "run_date": day,
            "crm_contact_id": f"C-{ident}", "phone": phone, "vbot_campaign_id": vbot_id, "outcome": outcome,
            "final_status_code": 200 if outcome == "answered" else None, "attempts": attempts,
            "first_called_at": None, "last_called_at": None, "talk_seconds": talk, "postage": Decimal(cost),
            "service_charge": Decimal(0), "total_cost": Decimal(cost), "is_answered": outcome == "answered",
            "updated_at": _CREATED_AT}


def _reject(config: str, crm_id: str | None, raw: str | None, phone: str | None, reason: str,
            detail: str | None) -> dict:
    return {"config_name": config, "run_date": DAY, "crm_contact_id": crm_id, "raw_phone": raw, "phone": phone,
            "reason": reason, "detail": detail, "created_at": _CREATED_AT}


def seed(engine: Engine) -> None:
    """Two configs on DAY (one run ambiguous, one sending), one run the day before, rejects and outcomes."""
    pay1 = f"{PAY}/{DAY}/001"
    appt1, before1 = f"{APPT}/{DAY}/001", f"{PAY}/{DAY_BEFORE}/001"
    with engine.begin() as conn:
        conn.execute(campaign_run.insert(), [
            _run(PAY, DAY, 1, "created", 3, 501), _run(PAY, DAY, 2, "ambiguous", 2, None),
            _run(APPT, DAY, 1, "created", 2, 502), _run(APPT, DAY, 2, "sending", 1, None),
            _run(PAY, DAY_BEFORE, 1, "created", 1, 400)])
        conn.execute(rejected_contact.insert(), [
            _reject(PAY, "C-20", "0912 345 678 99", None, "invalid_phone", "not a Vietnamese number"),
            _reject(PAY, "C-21", "12345", None, "invalid_phone", "too short"),
            _reject(PAY, "C-22", "+84 987 654 321", "0987654321", "dnc", "do-not-call flag in the CRM"),
            _reject(PAY, '=HYPERLINK("http://x","y")', "0388888888", "0388888888", "duplicate",
                    "same phone as C-1 (0388888888), kept the newer row"),
            _reject(APPT, "C-30", "0901234567", "0901234567", "missing_field", "appointment_at is empty"),
        ])
        conn.execute(contact_outcome.insert(), [
            _outcome(1, pay1, PAY, DAY, "0977000111", 501, "answered", 1, 65, "2950.00"),
            _outcome(2, pay1, PAY, DAY, "0355123456", 501, "not_reached", 2, 0, "0"),
            _outcome(3, pay1, PAY, DAY, "0388888888", 501, "bad_number", 1, 0, "0"),
            _outcome(4, appt1, APPT, DAY, "0901234567", 502, "answered", 1, 30, "1234.50"),
            _outcome(5, appt1, APPT, DAY, "0912345678", 502, "missing", 0, 0, "0"),
            _outcome(6, before1, PAY, DAY_BEFORE, "0977000111", 400, "answered", 1, 10, "110.00"),
        ])
    refresh_kpis(engine, DAY_BEFORE, DAY)


# What the figures of DAY add up to (both configs): worked out from the rows above.
DAY_TOTALS = {"contacts": 5, "called": 4, "answered": 2, "answer_rate": Decimal("0.5000"), "talk_seconds": 95,
              "total_cost": Decimal("4184.50"), "rejected": 5}
