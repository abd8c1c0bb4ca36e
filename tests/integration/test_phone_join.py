"""Reconciliation reads phones as the daily list does: the SQL join on every database, the
receiver's stored digits, and VBot's do-not-call answers in any spelling."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.unit.test_phones import SPELLINGS
from vbotflow.campaigns import outbox
from vbotflow.phone.rules import SEPARATORS, UnreadablePhone, dial_digits, domestic_form
from vbotflow.receiver.app import create_app
from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.reconcile.feedback import feed_suppression
from vbotflow.reconcile.sql import domestic_phone
from vbotflow.store.db import make_engine
from vbotflow.store.tables import call_attempt, campaign_contact, campaign_run, suppression

TOKEN = "phone-join-token"


def _dialled_values() -> list[str]:
    """What the receiver's phone column can hold: every spelling of the table, and random ones."""
    values = set()
    for text, _, _ in SPELLINGS:
        try:
            values.add(dial_digits(text or ""))
        except UnreadablePhone:
            continue
    rng = random.Random(11)
    pieces = ["+", "+84", "84", "0084", "00", "0", "01", "016", "0120", "0199", "840", "+840", "00840", "028"]
    for _ in range(4000):
        text = rng.choice(pieces + [""]) + "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 14)))
        values.add(dial_digits(text.replace("0", rng.choice(["0", "0" + rng.choice(SEPARATORS)]), 1)))
    return sorted(v for v in values if len(v) <= 32)


def _compare_on(url: str) -> None:
    engine = make_engine(url)
    table = sa.Table(f"dialled_{uuid.uuid4().hex[:8]}", sa.MetaData(), sa.Column("phone", sa.String(40)))
    values = _dialled_values()
    try:
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"phone": v} for v in values])
        with engine.connect() as conn:
            got = dict(conn.execute(sa.select(table.c.phone, domestic_phone(table.c.phone))).all())
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()
    assert len(got) == len(values) > 3000
    assert {v: got[v] for v in values if got[v] != domestic_form(v)} == {}


def test_the_sql_join_reads_numbers_as_python_does(db_url: str) -> None:
    _compare_on(db_url)


@pytest.mark.mariadb
def test_the_sql_join_reads_numbers_as_python_does_on_mariadb(mariadb_server_url: str) -> None:
    _compare_on(mariadb_server_url)


DAY = date(2026, 11, 26)
SENT_AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
CONTACTS = {f"C{i}": f"09120000{i:02d}" for i in range(1, 8)} | {"OLD": "0389123456"}


def _post(client, path: str, body: dict) -> None:
    answer = client.post(path, json=body, headers={"X-Webhook-Token": TOKEN})
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_results_in_any_spelling_join_their_contacts_and_foreign_ones_do_not(db_url: str, tmp_path) -> None:
    engine = make_engine(db_url)
    spec = outbox.ChunkSpec("payment_reminder", DAY, 1, 2932, "payment_reminder_20261126_1", len(CONTACTS), "f" * 64)
    with engine.begin() as conn:
        conn.execute(campaign_run.insert().values(**{**outbox.new_row(spec, "created", SENT_AT), "sent_at": SENT_AT,
                                                     "vbot_campaign_id": 601}))
        conn.execute(campaign_contact.insert(), [
            {"run_key": spec.run_key, "config_name": "payment_reminder", "run_date": DAY, "chunk_number": 1,
             "crm_contact_id": crm_id, "phone": phone, "fields_json": json.dumps({"phone": phone}),
             "created_at": SENT_AT} for crm_id, phone in CONTACTS.items()])
    app = create_app({"DB_URL": db_url, "WEBHOOK_TOKENS": TOKEN, "SPOOL_DIR": str(tmp_path / "spool"), "TESTING": True})
    client = app.test_client()
    sent = {
        "+84 912 000 001": "0912000001",
        "84912000002": "0912000002",
        "0084\u00a0912\u00a0000\u00a0003": "0912000003",
        "912000004": "0912000004",
        "+84 0912000005": "0912000005",
        "\uff10\uff19\uff11\uff12\uff10\uff10\uff10\uff10\uff10\uff16": "0912000006",
        "+912000007": "+912000007",  # India: not contact C7 (0912000007)
        "+84 0168 912 3456": "0389123456",
    }
    for minute, phone in enumerate(sent):
        _post(client, "/webhooks/vbot/autocall", {"campaign_id": 601, "phone": phone,
                                                  "create_at": f"11/26/2026 09:{minute:02d}:00", "status": 200})
    # Do-not-call answers from the call history, in the spellings people and systems write.
    records = [{"date_create": "11/26/2026 10:00:00", "callee": callee, "disposition": disposition}
               for callee, disposition in [("0912 000 021", "DONTCALL"), ("+84 912 000 022", "dontcall"),
                                           ("0912000023 (KH)", "DONTCALL"), ("0912000024,0912000025", "DONTCALL"),
                                           ("+912000026", "DONTCALL"), ("0912000027", "ANSWER")]]
    _post(client, "/webhooks/vbot/call-history", {"status": "1", "data": records})

    assert parse_new_events(engine, settle_seconds=0).attempts_added == len(sent)
    feed_suppression(engine)
    with engine.connect() as conn:
        attempts = sorted(conn.execute(sa.select(call_attempt.c.phone)).scalars())
        joined = conn.execute(sa.select(sa.func.count()).select_from(
            call_attempt.join(campaign_contact, campaign_contact.c.phone == call_attempt.c.phone))).scalar_one()
        opted_out = {r.phone: r.reason for r in conn.execute(sa.select(suppression))}
    engine.dispose()
    assert attempts == sorted(sent.values())
    assert joined == len(sent) - 1  # every result found its contact but the foreign one
    assert opted_out == {"0912000021": "opt_out", "0912000022": "opt_out", "0912000023": "opt_out"}
