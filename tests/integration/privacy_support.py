"""A project with personal data everywhere it goes, made by the product's own code, and searches for it.

A day of the payment-reminder list is built from a demo CRM (``build_daily_list``), sent to the VBot
simulator through the outbox, dialled; the results reach the real receiver over HTTP (auto-call and
call-history deliveries), are reconciled, reported and written back to the CRM. Previews (masked and
in clear) and reports are written under the var dir.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from tests.integration.campaign_env import write_test_config
from tests.integration.receiver_support import TOKEN, werkzeug_server
from tests.integration.sim_http import GROUP_CODE, VBOT_ID, fast_config, wait_idle
from vbotflow.campaigns import outbox
from vbotflow.campaigns.build import build_daily_list, preview_daily_list
from vbotflow.campaigns.config import load_config
from vbotflow.campaigns.list_store import chunk_contacts
from vbotflow.campaigns.preview import preview_dir, write_preview
from vbotflow.campaigns.transform import transform
from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.reconcile.kpi import refresh_kpis
from vbotflow.reconcile.outcomes import refresh_outcomes
from vbotflow.reconcile.report import make_report
from vbotflow.reconcile.writeback import write_back
from vbotflow.store.db import make_engine
from vbotflow.store.tables import (
    call_attempt,
    campaign_contact,
    campaign_run,
    contact_outcome,
    kpi_daily,
    metadata,
    rejected_contact,
    webhook_event,
)
from vbotflow.vbot.api import build_create_body, payload_sha256
from vbotflow.vbot.timestamps import VIETNAM
from vbotflow_dev.demo_crm import customers, invoices, seed_crm
from vbotflow_dev.simulator.server import run_simulator_in_thread

KEY = "privacy-test-key-7d41c9e0a2b3f5d6"
# The person who asks to be erased: a Viettel number that was 11 digits before 2018 (0162… → 032…).
PHONE = "0329876543"
NATIONALS = ("329876543", "1629876543")  # today's national digits, and the pre-2018 ones
NAME = "Trần Thị Bích Ngọc"
DUPLICATE_NAME = "Trần T. Bích Ngọc"
PERSON_IDS = ("5001", "5002")
CONFIG = "payment_reminder"


@dataclass
class Project:
    db_url: str
    crm_url: str
    var_dir: Path
    spool_dir: Path
    receiver_url: str
    configs_dir: Path

    def engine(self) -> sa.Engine:
        return make_engine(self.db_url)


@contextmanager
def project(db_url: str, tmp_path: Path) -> Iterator[Project]:
    var_dir, spool_dir, configs = tmp_path / "var", tmp_path / "var" / "spool", tmp_path / "campaigns"
    configs.mkdir(parents=True)
    write_test_config(configs, CONFIG, max_phones_per_campaign=12)
    # The receiver serving here has the database; ``spool_dir`` plays the spool of another receiver
    # process whose database was away (its deliveries wait there, not yet landed).
    receiver_config = {"DB_URL": db_url, "WEBHOOK_TOKENS": TOKEN, "SPOOL_DIR": str(tmp_path / "receiver-spool")}
    with werkzeug_server(receiver_config) as receiver:
        yield Project(db_url, f"sqlite:///{tmp_path / 'crm.db'}", var_dir, spool_dir, receiver, configs)


def add_person(crm_url: str, today: date) -> None:
    """The person in the CRM twice: a second record with the old 11-digit spelling (a duplicate)."""
    engine = make_engine(crm_url)
    with engine.begin() as conn:
        conn.execute(customers.insert(), [
            {"customer_id": 5001, "full_name": NAME, "phone": "+84 32 987 6543", "email": "ngoc@example.invalid",
             "is_dnc": 0, "updated_at": datetime.combine(today, time(5))},
            {"customer_id": 5002, "full_name": DUPLICATE_NAME, "phone": "0162.987.6543",
             "email": "ngoc2@example.invalid", "is_dnc": 0, "updated_at": datetime.combine(today, time(4))}])
        conn.execute(invoices.insert(), [
            {"invoice_id": 9001, "customer_id": 5001, "amount_due": Decimal(4321000), "due_date": today, "paid": 0},
            {"invoice_id": 9002, "customer_id": 5002, "amount_due": Decimal(4321000), "due_date": today, "paid": 0}])
    engine.dispose()


def send_chunks(engine: sa.Engine, sim_url: str, config_name: str, run_date: date, template_id: int) -> list[int]:
    """Create every pending chunk at the simulator through the outbox (what create_campaign does)."""
    ids = []
    runs = outbox.list_runs(engine, state="pending", config_name=config_name, run_date=run_date)
    for run in sorted(runs, key=lambda r: r["chunk_number"]):
        contacts = chunk_contacts(engine, run["run_key"])
        body = build_create_body(vbot_id=VBOT_ID, group_code=GROUP_CODE, template_id=template_id,
                                 name=run["campaign_name"], contacts=contacts)
        spec = outbox.ChunkSpec(config_name, run_date, run["chunk_number"], template_id, run["campaign_name"],
                                len(contacts), payload_sha256(body))
        assert outbox.claim_for_send(engine, spec) is None
        answer = requests.post(f"{sim_url}/api/campaign/create", json=body, timeout=10,
                               headers={"Authorization": "Bearer sim-static-token"}).json()
        outbox.mark_created(engine, spec.run_key, int(answer["data"]))
        ids.append(int(answer["data"]))
    return ids


def reconcile(engine: sa.Engine, crm_url: str, var_dir: Path, date_from: date, date_to: date) -> None:
    parse_new_events(engine, settle_seconds=0)
    refresh_outcomes(engine, date_from, date_to, missing_after_hours=0)
    make_report(engine, date_from, date_to, var_dir / "reports")
    crm = make_engine(crm_url)
    write_back(engine, crm, date_from, date_to)
    crm.dispose()


def build_day(p: Project, run_date: date, *, seed: int, first_campaign_id: int, with_person: bool = False,
              rows: int = 150) -> list[int]:
    """One day of the whole flow; returns the VBot campaign ids."""
    seed_crm(p.crm_url, rows, seed=seed, today=run_date)
    if with_person:
        add_person(p.crm_url, run_date)
    config = load_config(p.configs_dir / f"{CONFIG}.yaml")
    engine, crm = p.engine(), make_engine(p.crm_url)

    def body_for(name: str, contacts: list[dict[str, str]]) -> dict[str, Any]:
        return build_create_body(vbot_id=VBOT_ID, group_code=GROUP_CODE, template_id=config.template_id, name=name,
                                 contacts=contacts)

    # A masked preview (as vbot_preview writes it), then the same day in clear (--show-personal-data).
    preview = preview_daily_list(config=config, run_date=run_date, crm_engine=crm, db_engine=engine,
                                 body_for=body_for, out_dir=preview_dir(p.var_dir, CONFIG, run_date.isoformat()))
    from vbotflow.campaigns.extract import extract, sql_parameters
    from vbotflow.campaigns.list_store import plan_chunks

    result = transform(extract(crm, config, sql_parameters(config, run_date)), config)
    write_preview(preview_dir(p.var_dir, f"{CONFIG}_clear", run_date.isoformat()), result,
                  {n: body_for(f"x{n}", c) for n, c in plan_chunks(config, result).items()}, mask=False)
    assert preview.accepted > 0
    build_daily_list(config=config, run_date=run_date, crm_engine=crm, db_engine=engine, body_for=body_for)

    delivery = {"webhook_url": f"{p.receiver_url}/webhooks/vbot", "headers": {"X-Webhook-Token": TOKEN},
                "history_batch_size": 4}
    start = datetime.combine(run_date, time(8, 30)).isoformat()
    with run_simulator_in_thread(fast_config(first_campaign_id=first_campaign_id, delivery=delivery,
                                             dialing={"start_at": start})) as sim_url:
        ids = send_chunks(engine, sim_url, CONFIG, run_date, config.template_id)
        wait_idle(sim_url)
    reconcile(engine, p.crm_url, p.var_dir, run_date, run_date)
    engine.dispose()
    crm.dispose()
    return ids


def vietnam_today() -> date:
    return datetime.now(VIETNAM).date()


# --- searching for a person ---

def _values(value: Any) -> list[str]:
    """A stored value as the texts to search: bytes decoded, JSON escapes undone."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", errors="replace")
    text = str(value)
    texts = [text]
    try:
        texts.append(json.dumps(json.loads(text), ensure_ascii=False))  # "\u00e2…" escapes, as characters
    except (json.JSONDecodeError, TypeError, ValueError):
        pass
    return texts


_DIGIT_RUN = re.compile(r"\d(?:[\s.\-()/+]*\d)*")  # digits, with what people write between them


def mentions(value: Any, nationals: tuple[str, ...] = NATIONALS, names: tuple[str, ...] = (NAME,)) -> bool:
    """Whether a value holds a number in any spelling (a run of digits and separators containing its
    national digits) or a name."""
    for text in _values(value):
        runs = [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(text)]
        if any(n in run for run in runs for n in nationals) or any(name in text for name in names):
            return True
    return False


def search_database(url: str, *, skip: tuple[str, ...] = ("suppression",), **criteria: Any) -> list[str]:
    """Every (table.column #row) of every table holding the person: text, JSON and binary columns alike."""
    engine = make_engine(url)
    found = []
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        for name in tables:
            if name in skip:
                continue
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for number, row in enumerate(conn.execute(sa.select(table)).mappings()):
                found += [f"{name}.{column} #{number}" for column, value in row.items() if mentions(value, **criteria)]
    engine.dispose()
    assert set(metadata.tables) <= set(tables)
    return found


def search_files(root: Path, **criteria: Any) -> list[str]:
    """Every file under ``root`` holding the person, spooled bodies (base64) decoded."""
    import base64

    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts = [data]
        try:
            texts.append(base64.b64decode(json.loads(data)["body_b64"]))
        except (ValueError, KeyError, TypeError):
            pass
        if any(mentions(t, **criteria) for t in texts):
            found.append(str(path.relative_to(root)))
    return found


def kpi_snapshot(url: str, date_from: date, date_to: date, *, rebuild: bool = False) -> dict[str, Any]:
    """KPIs and outcome totals of the range; with ``rebuild`` recomputed from the rows first."""
    engine = make_engine(url)
    if rebuild:
        refresh_outcomes(engine, date_from, date_to, missing_after_hours=0,
                         now=datetime.now(UTC) + timedelta(days=1), full=True)
        refresh_kpis(engine, date_from, date_to)
    co, a = contact_outcome, call_attempt
    with engine.connect() as conn:
        kpis = [dict(r) for r in conn.execute(sa.select(kpi_daily).order_by(kpi_daily.c.report_date))
                .mappings()]
        outcomes = conn.execute(sa.select(co.c.run_date, co.c.outcome, sa.func.count(), sa.func.sum(co.c.attempts),
                                          sa.func.sum(co.c.talk_seconds), sa.func.sum(co.c.total_cost))
                                .group_by(co.c.run_date, co.c.outcome).order_by(co.c.run_date, co.c.outcome)).all()
        attempts = conn.execute(sa.select(sa.func.count(), sa.func.sum(a.c.postage), sa.func.sum(a.c.service_charge),
                                          sa.func.sum(a.c.duration_seconds))).one()
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (campaign_run, campaign_contact, rejected_contact, webhook_event)}
    engine.dispose()
    for row in kpis:
        row.pop("updated_at")
    return {"kpis": kpis, "outcomes": [tuple(r) for r in outcomes], "attempts": tuple(attempts), "counts": counts}


def max_event_id(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.max(webhook_event.c.event_id))).scalar()
    engine.dispose()
    return int(value or 0)


def backdate(url: str, run_date: date, campaign_ids: list[int], events_after: int, days: int) -> None:
    """Make a day built now look built ``days`` ago: what the database wrote at the time of the run.

    The simulator already dated the calls on the run date; this moves the rows' own times (created,
    sent, received, parsed) back with them.
    """
    shift = timedelta(days=days)
    moves = [
        (campaign_run, "run_key", ("created_at", "updated_at", "sent_at"), campaign_run.c.run_date == run_date),
        (campaign_contact, "campaign_contact_id", ("created_at",), campaign_contact.c.run_date == run_date),
        (rejected_contact, "rejected_contact_id", ("created_at",), rejected_contact.c.run_date == run_date),
        (contact_outcome, "campaign_contact_id", ("updated_at",), contact_outcome.c.run_date == run_date),
        (call_attempt, "call_attempt_id", ("parsed_at",), call_attempt.c.vbot_campaign_id.in_(campaign_ids)),
        (webhook_event, "event_id", ("received_at", "stored_at"), webhook_event.c.event_id > events_after),
    ]
    engine = make_engine(url)
    with engine.begin() as conn:
        for table, key, columns, where in moves:
            rows = conn.execute(sa.select(table.c[key], *(table.c[c] for c in columns)).where(where)).all()
            for row in rows:
                values = {c: (v - shift if v is not None else None) for c, v in zip(columns, row[1:], strict=True)}
                conn.execute(table.update().where(table.c[key] == row[0]).values(**values))
    engine.dispose()
