"""A demo CRM: customers with Vietnamese names and messy phone numbers, invoices and appointments.

For the demo and the tests only: it plays the company's CRM database (SQLite, PostgreSQL or
MariaDB), so its schema is created here directly rather than by this project's migrations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from faker import Faker

from vbotflow.store.db import make_engine
from vbotflow.vbot.timestamps import VIETNAM

crm_metadata = sa.MetaData()

customers = sa.Table(
    "customers", crm_metadata,
    sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("full_name", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("email", sa.String(200)),
    sa.Column("is_dnc", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
invoices = sa.Table(
    "invoices", crm_metadata,
    sa.Column("invoice_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("amount_due", sa.Numeric(14, 0), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("paid", sa.Integer, nullable=False, server_default="0"),
)
appointments = sa.Table(
    "appointments", crm_metadata,
    sa.Column("appointment_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("appointment_at", sa.DateTime, nullable=False),
    sa.Column("branch", sa.String(100)),
    sa.Column("status", sa.String(20), nullable=False),
)

# The one table the integration writes: call outcomes per contact, day and campaign (upserted).
vbot_call_outcome = sa.Table(
    "vbot_call_outcome", crm_metadata,
    sa.Column("contact_id", sa.String(100), primary_key=True),
    sa.Column("call_date", sa.Date, primary_key=True),
    sa.Column("campaign", sa.String(100), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("is_answered", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("talk_seconds", sa.Integer, nullable=False),
    sa.Column("total_cost", sa.Numeric(16, 2), nullable=False),
    sa.Column("final_status_code", sa.Integer),
    sa.Column("vbot_campaign_id", sa.BigInteger),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Prefixes the carriers use today (after the 2018 change) and the 11-digit ones they replaced.
MOBILE_PREFIXES = ["32", "33", "34", "35", "36", "37", "38", "39", "70", "76", "77", "78", "79", "81", "82",
                   "83", "84", "85", "86", "88", "89", "90", "91", "93", "94", "96", "97", "98", "56", "58",
                   "59"]
NEW_TO_OLD = {"32": "162", "33": "163", "34": "164", "38": "168", "39": "169", "70": "120", "79": "121",
              "83": "123", "84": "124", "56": "186", "59": "199"}
BRANCHES = ["Hà Nội - Cầu Giấy", "Hà Nội - Hoàn Kiếm", "TP.HCM - Quận 1", "TP.HCM - Thủ Đức", "Đà Nẵng - Hải Châu"]
# Cells no campaign calls: empty, text, too short, landlines and service numbers, another country,
# two numbers in one cell, a note around a number, a number a spreadsheet rounded.
UNUSABLE_PHONES = ["", None, "không có", "0241234567", "028 3822 1234", "12345", "0912-34", "1900 1234",
                   "+65 6123 4567", "0912 345 678 / 0987 654 321", "0912 345 678 (Zalo)", "9.12346E+08"]


@dataclass(frozen=True)
class SeedSummary:
    customers: int
    invoices: int
    appointments: int
    dnc: int
    duplicate_phones: int


def messy_phone(national: str, rng: random.Random) -> str:
    """One valid mobile number (9 national digits) written the way people type it into a CRM."""
    style = rng.random()
    if style < 0.27:
        return "0" + national
    if style < 0.30:
        return f"0{national[:2]}\u00a0{national[2:5]}\u00a0{national[5:]}"  # no-break spaces (Excel, web pages)
    if style < 0.32:
        return f"+84 0{national[:2]} {national[2:5]} {national[5:]}"  # a trunk zero after the country code
    if style < 0.335:
        return "'0" + national  # Excel's text marker
    if style < 0.35:
        return f"0{national[:2]}\u2013{national[2:5]}\u2013{national[5:]}"  # en dashes
    if style < 0.45:
        return f"0{national[:2]} {national[2:5]} {national[5:]}"
    if style < 0.55:
        return f"+84 {national[:2]} {national[2:5]} {national[5:]}"
    if style < 0.62:
        return "84" + national
    if style < 0.68:
        return national  # the leading zero lost in a spreadsheet
    if style < 0.74:
        return f"0{national[:2]}.{national[2:5]}.{national[5:]}"
    if style < 0.80:
        return f"(0{national[:2]}) {national[2:5]}-{national[5:]}"
    if style < 0.84:
        return "0084" + national
    old = NEW_TO_OLD.get(national[:2])
    if old:  # written before the 2018 change to ten digits; sometimes with the country code too
        return f"+84 0{old} {national[2:]}" if national.endswith(("0", "5")) else "0" + old + national[2:]
    return "0" + national


def seed_crm(url: str, rows: int, seed: int = 42, today: date | None = None) -> SeedSummary:
    """(Re)create the demo CRM at ``url`` with ``rows`` customers; due dates and appointments around
    ``today``, by default today in Vietnam: the day the campaign DAGs run for (a machine on UTC is a
    day behind it from 17:00, and the list would then change with the hour of seeding)."""
    rng = random.Random(seed)
    fake = Faker("vi_VN")
    fake.seed_instance(seed)
    today = today or datetime.now(VIETNAM).date()
    engine = make_engine(url)
    crm_metadata.drop_all(engine)
    crm_metadata.create_all(engine)

    customer_rows, invoice_rows, appointment_rows = [], [], []
    used_nationals: list[str] = []
    duplicates = dnc = 0
    for customer_id in range(1, rows + 1):
        roll = rng.random()
        if used_nationals and roll < 0.06:
            national = rng.choice(used_nationals)  # the same person entered twice
            duplicates += 1
            phone: str | None = messy_phone(national, rng)
        elif roll < 0.10:
            phone = rng.choice(UNUSABLE_PHONES)
        else:
            national = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
            used_nationals.append(national)
            phone = messy_phone(national, rng)
        is_dnc = int(rng.random() < 0.03)
        dnc += is_dnc
        customer_rows.append({
            "customer_id": customer_id,
            "full_name": fake.name() if rng.random() > 0.01 else None,
            "phone": phone,
            "email": fake.email(),
            "is_dnc": is_dnc,
            "updated_at": datetime.combine(today, time(6)) - timedelta(minutes=rng.randrange(60 * 24 * 365)),
        })
        if rng.random() < 0.6:
            invoice_rows.append({
                "invoice_id": len(invoice_rows) + 1,
                "customer_id": customer_id,
                "amount_due": Decimal(rng.randrange(50, 5000) * 1000),
                "due_date": today + timedelta(days=rng.randrange(-2, 8)),
                "paid": int(rng.random() < 0.15),
            })
        if rng.random() < 0.4:
            day = today + timedelta(days=rng.randrange(0, 4))
            appointment_rows.append({
                "appointment_id": len(appointment_rows) + 1,
                "customer_id": customer_id,
                "appointment_at": datetime.combine(day, time(rng.randrange(8, 17), rng.choice([0, 15, 30, 45]))),
                "branch": rng.choice(BRANCHES),
                "status": rng.choice(["booked"] * 9 + ["cancelled"]),
            })

    with engine.begin() as conn:
        conn.execute(customers.insert(), customer_rows)
        if invoice_rows:
            conn.execute(invoices.insert(), invoice_rows)
        if appointment_rows:
            conn.execute(appointments.insert(), appointment_rows)
    engine.dispose()
    return SeedSummary(len(customer_rows), len(invoice_rows), len(appointment_rows), dnc, duplicates)
