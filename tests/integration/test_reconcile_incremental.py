"""The incremental outcome refresh gives exactly what a full rebuild gives.

Two stores receive the same deliveries in the same batches: one refreshes its outcomes
incrementally after each batch, the other rebuilds them whole. After every batch both must hold
the same attempts and the same outcomes (all but ``updated_at``, which says when a row was last
written). The batches bring what production brings: late results for contacts that have an
outcome already, the same result again under another dedupe key (in one batch and across
batches), two results at the same second, results for nobody we sent, numbers in ``84…`` form, a
run created late (its results arrived first), results for an older day outside the refreshed range,
contacts that turn from pending to missing as the clock moves, and a change of the grace time.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.reconcile.outcomes import refresh_outcomes
from vbotflow.store import db
from vbotflow.store.tables import call_attempt, campaign_contact, campaign_run, contact_outcome, webhook_event

DAY = date(2026, 11, 26)
YESTERDAY = DAY - timedelta(days=1)
SENT = {DAY: datetime(2026, 11, 26, 1, 0, tzinfo=UTC), YESTERDAY: datetime(2026, 11, 25, 1, 0, tzinfo=UTC)}
STATUSES = [200, 200, 2, 2, 3, 4, 101, 106, 999]
CONTACTS_PER_RUN = 12


@pytest.fixture
def twin_urls(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The test's database and a second, migrated one like it (SQLite file or PostgreSQL database)."""
    if db_url.startswith("sqlite"):
        twin = f"sqlite:///{tmp_path / 'twin.db'}"
        db.upgrade(twin)
        yield db_url, twin
        return
    url = sa.engine.make_url(db_url)
    name = f"{url.database}_twin"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    twin = url.set(database=name).render_as_string(hide_password=False)
    try:
        db.upgrade(twin)
        yield db_url, twin
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(day: date, chunk: int, state: str = "created") -> dict:
    now = SENT[day]
    return {"run_key": f"t/{day}/{chunk}", "config_name": "t", "run_date": day, "chunk_number": chunk,
            "template_id": 1, "campaign_name": f"t_{day}_{chunk}", "phone_count": CONTACTS_PER_RUN,
            "payload_sha256": "0" * 64, "state": state,
            "vbot_campaign_id": _campaign(day, chunk) if state == "created" else None,
            "attempts": 1, "created_at": now, "updated_at": now, "sent_at": now if state == "created" else None}


def _campaign(day: date, chunk: int) -> int:
    return 1000 * day.day + chunk


def _phone(day: date, chunk: int, n: int) -> str:
    return f"09{day.day:02d}{chunk:02d}{n:04d}"


def _contacts(day: date, chunk: int) -> list[dict]:
    return [{"run_key": f"t/{day}/{chunk}", "config_name": "t", "run_date": day, "chunk_number": chunk,
             "crm_contact_id": f"{day}-{chunk}-{n}", "phone": _phone(day, chunk, n), "fields_json": "{}",
             "created_at": SENT[day]} for n in range(CONTACTS_PER_RUN)]


def _event(campaign: int, phone: str, called_at: datetime, status: int, stored_at: datetime) -> dict:
    seconds = 7 + (called_at.minute % 50) if status == 200 else 0
    body = json.dumps({"campaign_id": campaign, "phone": phone, "status": status,
                       "called_at": called_at.isoformat()}).encode()
    return {"received_at": stored_at, "stored_at": stored_at, "landed_via": "http", "endpoint": "autocall",
            "kind": "autocall", "dedupe_key": "autocall:" + uuid.uuid4().hex, "body": body,
            "body_sha256": hashlib.sha256(body).hexdigest(), "headers_json": "{}", "vbot_campaign_id": campaign,
            "phone": phone, "called_at": called_at, "status_code": status, "hotline": "02473001234",
            "duration_seconds": seconds, "postage": Decimal(110 * -(-seconds // 6)),
            "service_charge": Decimal("300.50") if seconds else Decimal(0), "action_log": ""}


class Batches:
    """Seeded deliveries, batch by batch; remembers what it sent so it can send it again."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent: list[dict] = []
        self.clock = SENT[DAY] + timedelta(hours=1)

    def results(self, day: date, chunks: range, count: int, *, spread: int = CONTACTS_PER_RUN - 3) -> list[dict]:
        """``count`` results for the first ``spread`` contacts of the runs (the rest never get one)."""
        rng, events = self.rng, []
        for _ in range(count):
            chunk = rng.choice(chunks)
            phone = _phone(day, chunk, rng.randrange(spread))
            if rng.random() < 0.1:
                phone = "84" + phone[1:]  # VBot echoing the number in international form
            at = self.clock - timedelta(minutes=rng.randrange(0, 50), seconds=rng.randrange(2))
            events.append(_event(_campaign(day, chunk), phone, at, rng.choice(STATUSES), self.clock))
            if rng.random() < 0.1:  # two results at the same second
                events.append(_event(_campaign(day, chunk), phone, at, rng.choice(STATUSES), self.clock))
            if rng.random() < 0.1:  # the same result twice, under another key, in the same batch
                events.append({**events[-1], "dedupe_key": "autocall:" + uuid.uuid4().hex})
        return events

    def again(self, count: int) -> list[dict]:
        """Results already delivered in an earlier batch, delivered again under another key."""
        return [{**e, "dedupe_key": "autocall:" + uuid.uuid4().hex, "stored_at": self.clock,
                 "received_at": self.clock} for e in self.rng.sample(self.sent, count)]

    def orphans(self) -> list[dict]:
        return [_event(999_999, "0912345678", self.clock, 200, self.clock),
                _event(_campaign(DAY, 0), "0999999999", self.clock, 2, self.clock)]

    def deliver(self, urls: tuple[str, ...], events: list[dict]) -> None:
        self.sent.extend(events)
        for url in urls:
            engine = db.make_engine(url)
            with engine.begin() as conn:
                conn.execute(webhook_event.insert(), [{**e} for e in events])
            engine.dispose()


def _execute(urls: tuple[str, ...], statement: sa.Executable, rows: list[dict] | None = None) -> None:
    for url in urls:
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.execute(statement, rows) if rows is not None else conn.execute(statement)
        engine.dispose()


# Generated ids differ between the two databases (the test's may have served other tests before):
# attempts are compared in their id order (the tie-break) and outcomes by run and phone, without ids.
_ATTEMPT_IGNORED = {"call_attempt_id", "event_id", "parsed_at"}
_OUTCOME_IGNORED = {"campaign_contact_id", "updated_at"}


def _state(url: str) -> tuple[list[sa.Row], list[sa.Row]]:
    """Attempts and outcomes, in a fixed order, without generated ids and the times they were written."""
    a, co = call_attempt, contact_outcome
    engine = db.make_engine(url)
    with engine.connect() as conn:
        attempts = conn.execute(sa.select(*(c for c in a.c if c.name not in _ATTEMPT_IGNORED))
                                .order_by(a.c.call_attempt_id)).all()
        outcomes = conn.execute(sa.select(*(c for c in co.c if c.name not in _OUTCOME_IGNORED))
                                .order_by(co.c.run_key, co.c.phone)).all()
    engine.dispose()
    return list(attempts), list(outcomes)


def _reconcile(urls: tuple[str, str], date_from: date, date_to: date, now: datetime, missing_after_hours: float
               ) -> None:
    """Parse the new deliveries in both stores; refresh the first's outcomes, rebuild the second's."""
    for url, rebuild in zip(urls, (False, True), strict=True):
        engine = db.make_engine(url)
        parse_new_events(engine, settle_seconds=0, now=now + timedelta(minutes=1))
        refresh_outcomes(engine, date_from, date_to, missing_after_hours=missing_after_hours, now=now, full=rebuild)
        engine.dispose()


def test_incremental_refresh_equals_a_full_rebuild_batch_after_batch(twin_urls: tuple[str, str]) -> None:
    urls = twin_urls
    batches = Batches(seed=17)
    # Day D: three runs created, a fourth still ambiguous; yesterday: two runs.
    _execute(urls, campaign_run.insert(), [_run(DAY, c) for c in range(3)] + [_run(DAY, 3, "ambiguous")]
             + [_run(YESTERDAY, c) for c in range(2)])
    _execute(urls, campaign_contact.insert(),
             [c for chunk in range(4) for c in _contacts(DAY, chunk)]
             + [c for chunk in range(2) for c in _contacts(YESTERDAY, chunk)])

    steps = [
        # (deliveries, range refreshed, grace hours)
        (lambda: batches.results(DAY, range(3), 40) + batches.results(YESTERDAY, range(2), 15),
         (YESTERDAY, DAY), 24),
        # Late results for contacts with outcomes, the same results again, results for nobody we sent,
        # and the ambiguous run's results before anyone resolved it.
        (lambda: batches.results(DAY, range(3), 30) + batches.again(12) + batches.orphans()
         + [_event(_campaign(DAY, 3), _phone(DAY, 3, n), batches.clock, 200, batches.clock) for n in range(3)],
         (DAY, DAY), 24),
        # Yesterday's late results while only today is refreshed; every contact may now be reached.
        (lambda: batches.results(YESTERDAY, range(2), 10) + batches.results(DAY, range(3), 20, spread=11),
         (DAY, DAY), 24),
        # Nothing new: only the clock moves (pending → missing), then a shorter grace time.
        (lambda: [], (DAY, DAY), 30),
        (lambda: batches.again(5), (DAY, DAY), 2),
        # The ambiguous run is resolved as created; the older day is refreshed again.
        (lambda: batches.results(DAY, range(4), 25) + batches.again(10), (YESTERDAY, DAY), 24),
        (lambda: batches.results(DAY, range(4), 15), (YESTERDAY, DAY), 24),
    ]
    compared = 0
    for number, (deliveries, (date_from, date_to), grace) in enumerate(steps):
        batches.clock += timedelta(hours=6)
        events = deliveries()
        if events:
            batches.deliver(urls, events)
        if number == 5:
            _execute(urls, campaign_run.update().where(campaign_run.c.run_key == f"t/{DAY}/3")
                     .values(state="created", vbot_campaign_id=_campaign(DAY, 3), sent_at=SENT[DAY]))
        _reconcile(urls, date_from, date_to, batches.clock, grace)
        incremental, full = _state(urls[0]), _state(urls[1])
        assert incremental[0] == full[0], f"attempts differ after batch {number}"
        assert incremental[1] == full[1], f"outcomes differ after batch {number}"
        compared += len(full[1])

    attempts, outcomes = _state(urls[0])
    # The batches did reach every case they are meant to.
    assert {o.outcome for o in outcomes} >= {"answered", "missing", "not_reached"}
    identities = {(a.vbot_campaign_id, a.phone, a.called_at, a.status_code) for a in attempts}
    assert len(identities) == len(attempts)  # one attempt per identity
    assert any(o.run_key == f"t/{DAY}/3" and o.outcome == "answered" for o in outcomes)
    assert compared > 0


def test_a_rerun_with_nothing_new_writes_nothing(engine) -> None:
    now = SENT[DAY] + timedelta(hours=30)
    with engine.begin() as conn:
        conn.execute(campaign_run.insert(), [_run(DAY, 0)])
        conn.execute(campaign_contact.insert(), _contacts(DAY, 0))
        conn.execute(webhook_event.insert(), [_event(_campaign(DAY, 0), _phone(DAY, 0, n), SENT[DAY], 2, SENT[DAY])
                                              for n in range(5)])
    parse_new_events(engine, settle_seconds=0, now=now)
    assert refresh_outcomes(engine, DAY, DAY, now=now) == CONTACTS_PER_RUN
    assert refresh_outcomes(engine, DAY, DAY, now=now) == 0
    # A late answer: only its contact is written again.
    with engine.begin() as conn:
        conn.execute(webhook_event.insert(), [_event(_campaign(DAY, 0), _phone(DAY, 0, 1), now, 200, now)])
    parse_new_events(engine, settle_seconds=0, now=now + timedelta(minutes=1))
    assert refresh_outcomes(engine, DAY, DAY, now=now) == 1
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(contact_outcome.c.phone, contact_outcome.c.outcome)).all())
    assert rows[_phone(DAY, 0, 1)] == "answered" and rows[_phone(DAY, 0, 2)] == "not_reached"
    assert rows[_phone(DAY, 0, 9)] == "missing"
