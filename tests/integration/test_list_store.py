"""The day's list as recorded: every accepted contact in its chunk in planned order, every reject, on each database."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa

from vbotflow.campaigns.config import CAMPAIGNS_DIR, load_config
from vbotflow.campaigns.list_store import chunk_contacts, plan_chunks, save_daily_list
from vbotflow.campaigns.transform import transform
from vbotflow.store.tables import campaign_contact, campaign_run, rejected_contact

DAY = date(2026, 11, 26)
# Text a bulk load must carry byte for byte: tabs, line breaks, backslashes, quotes, Vietnamese.
AWKWARD_NAMES = ["Nguyễn Văn\tA", "Trần \\N Bình", "Lê \"Cường\"\nthứ hai", "Phạm, Đức; 'Dũng'", "\\."]


def _config():
    return load_config(CAMPAIGNS_DIR / "payment_reminder.yaml").model_copy(update={"max_phones_per_campaign": 3})


def _raw(rows: int) -> pd.DataFrame:
    phones = [f"09{n:08d}" for n in range(12_000_000, 12_000_000 + rows)]
    phones[4] = phones[3]  # a duplicate: rejected
    phones[6] = "12345"  # not a phone: rejected
    return pd.DataFrame({
        "customer_id": [f"C-{n}" for n in range(rows)],
        "full_name": [AWKWARD_NAMES[n % len(AWKWARD_NAMES)] for n in range(rows)],
        "phone": phones,
        "is_dnc": [1 if n == 8 else 0 for n in range(rows)],
        "updated_at": [datetime(2026, 11, 25, 6, n) for n in range(rows)],
        "invoice_id": list(range(rows)),
        "amount_due": [150_000 + n for n in range(rows)],
        "due_date": [DAY] * rows,
    })


def test_every_contact_lands_in_its_chunk_in_order_and_every_reject_with_its_reason(engine) -> None:
    config = _config()
    result = transform(_raw(11), config)
    planned_contacts = plan_chunks(config, result)
    planned = save_daily_list(engine, config, DAY, result, {n: f"{n:064d}" for n in planned_contacts})

    assert [len(c) for c in planned_contacts.values()] == [3, 3, 2]  # 11 rows, 3 rejected
    assert [(p.chunk_number, p.phone_count) for p in planned] == [(1, 3), (2, 3), (3, 2)]
    for chunk in planned:
        assert chunk_contacts(engine, chunk.run_key) == planned_contacts[chunk.chunk_number]
    with engine.connect() as conn:
        contacts = conn.execute(sa.select(campaign_contact.c.chunk_number, campaign_contact.c.crm_contact_id,
                                          campaign_contact.c.phone, campaign_contact.c.fields_json)
                                .order_by(campaign_contact.c.campaign_contact_id)).all()
        rejects = conn.execute(sa.select(rejected_contact.c.crm_contact_id, rejected_contact.c.raw_phone,
                                         rejected_contact.c.phone, rejected_contact.c.reason)
                               .order_by(rejected_contact.c.crm_contact_id)).all()
        runs = conn.execute(sa.select(campaign_run.c.run_key, campaign_run.c.state, campaign_run.c.phone_count)
                            .order_by(campaign_run.c.run_key)).all()
    accepted = result.accepted
    assert [tuple(r[:3]) for r in contacts] == list(zip(
        accepted["chunk_number"].tolist(), accepted["crm_contact_id"].tolist(), accepted["phone"].tolist(),
        strict=True))
    assert [json.loads(r[3]) for r in contacts] == [c for chunk in planned_contacts.values() for c in chunk]
    names = [json.loads(r[3])["name"] for r in contacts]
    assert names == accepted["field:name"].tolist()
    assert set(AWKWARD_NAMES) - set(names) == {"Phạm, Đức; 'Dũng'"}  # its two rows were rejected
    assert [tuple(r) for r in rejects] == [("C-3", "0912000003", "0912000003", "duplicate"),
                                           ("C-6", "12345", None, "invalid_phone"),
                                           ("C-8", "0912000008", "0912000008", "dnc")]
    assert [tuple(r) for r in runs] == [(f"payment_reminder/2026-11-26/00{n}", "pending", size)
                                        for n, size in ((1, 3), (2, 3), (3, 2))]


def test_a_rerun_of_an_unsent_day_replaces_its_list_rather_than_adding_to_it(engine) -> None:
    config = _config()
    for rows in (11, 7):
        result = transform(_raw(rows), config)
        planned = save_daily_list(engine, config, DAY, result, {n: "0" * 64 for n in plan_chunks(config, result)})
    with engine.connect() as conn:
        counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (campaign_run, campaign_contact, rejected_contact)]
    assert [p.phone_count for p in planned] == [3, 2]
    assert counts == [2, 5, 2]
