"""Benchmark: a whole campaign day at scale through the real campaign DAG (issue 17).

A demo CRM in PostgreSQL, the integration DB in PostgreSQL, the VBot simulator in its own process
on loopback with dialing off (it takes and records campaigns, calls nobody), Airflow's metadata in
SQLite; the DAG ``vbot_campaign__day_bench`` (the payment reminder config: 200 phones per
campaign, its window opened to the whole day with the explicit flag, as the demo does) run with
``dag.test()`` for ``--contacts`` CRM rows. Target: under 30 s of task time (the sum of every task
instance's duration, as Airflow records them).

Then, on a second integration DB and the same CRM, the same library functions the tasks call are
timed one by one (extract, transform, body hashing, the list store; a sample of chunks through the
create path), so that the task times can be split into their parts. That second list must make
exactly the decisions the DAG made.

Before the DAG, a one-row ``vbot_preview`` run pays what ``dag.test()`` sets up once per process
(its in-process execution API), which would otherwise be counted in ``build_list``.
Seeding the CRM (173,413 customers) takes about two minutes and is not measured; ``--crm-url``
reuses a seeded one. Databases are created with the prefix ``perf_day_`` and dropped at the end.

    .venv/bin/python bench/day_bench.py [--contacts 100000] [--chunk 200] [--crm-url URL] [--keep]
        [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from statistics import mean, median
from typing import Any

from vbotflow_dev.local_run import free_port, quiet, wait_for

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_SECONDS = 30.0
CONFIG_NAME = "day_bench"
# Every invoice of the CRM, paid or not, due any day: the shipped payment reminder SQL keeps about
# a fifth of the customers, and seeding five times the list would take minutes of the run.
BENCH_SQL = """-- The payment reminder's columns for every invoice (bench only: no due-date filter).
SELECT c.customer_id, c.full_name, c.phone, c.is_dnc, c.updated_at, i.invoice_id, i.amount_due, i.due_date
FROM customers AS c
JOIN invoices AS i ON i.customer_id = c.customer_id
ORDER BY c.customer_id, i.due_date
"""


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def write_config(directory: Path, sql_path: Path, chunk: int | None = None, create_tasks: int | None = None) -> Path:
    """The shipped payment reminder config, as ``day_bench``, with the window open all day (explicitly relaxed)."""
    import yaml

    from vbotflow.campaigns.config import CAMPAIGNS_DIR

    doc = yaml.safe_load((CAMPAIGNS_DIR / "payment_reminder.yaml").read_text(encoding="utf-8"))
    doc.update({"name": CONFIG_NAME, "sql_file": str(sql_path), "tags": ["bench"],
                "calling_window": {"start": "00:00", "end": "23:59:59"}, "relax_legal_limits": True})
    if chunk:
        doc["max_phones_per_campaign"] = chunk
    if create_tasks:
        doc["max_create_tasks"] = create_tasks
    path = directory / f"{CONFIG_NAME}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def timed(times: dict[str, list[float]], name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; add its wall and CPU seconds (this process) to ``times[name]``."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    spent = times.setdefault(name, [0.0, 0.0])
    spent[0] += time.perf_counter() - wall
    spent[1] += time.process_time() - cpu
    return value


def task_figures(run: Any) -> list[dict[str, Any]]:
    """Every task instance of the run: task, map index, state, start, end, seconds."""
    rows = []
    for ti in run.get_task_instances():
        seconds = (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else None
        rows.append({"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state),
                     "start": ti.start_date, "end": ti.end_date, "seconds": seconds})
    return rows


def print_tasks(rows: list[dict[str, Any]]) -> float:
    """Per task (mapped ones summed), and the total task time."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(row["task_id"], []).append(row)
    order = ["build_list", "calling_window", "create_campaign", "summary"]
    total = 0.0
    print(f"{'task':<18}{'instances':>10}{'states':>22}{'sum s':>10}{'mean s':>9}{'median s':>10}{'max s':>8}"
          f"{'first start → last end s':>27}")
    for task_id in sorted(by_task, key=lambda t: order.index(t) if t in order else 99):
        tis = by_task[task_id]
        seconds = [r["seconds"] or 0.0 for r in tis]
        states = ",".join(sorted({r["state"].rsplit(".", 1)[-1] for r in tis}))
        span = (max(r["end"] for r in tis) - min(r["start"] for r in tis)).total_seconds()
        total += sum(seconds)
        print(f"{task_id:<18}{len(tis):>10}{states:>22}{sum(seconds):>10.2f}{mean(seconds):>9.3f}"
              f"{median(seconds):>10.3f}{max(seconds):>8.3f}{span:>27.2f}")
    print(f"{'total task time':<18}{len(rows):>10}{'':>22}{total:>10.2f}")
    return total


def check_the_day(db_url: str, sim_url: str, run_date: Any, extracted: int) -> dict[str, Any]:
    """Exactly once and nothing lost: every chunk created once on VBot, every extracted row accounted for."""
    import requests
    import sqlalchemy as sa

    from vbotflow.store.db import make_engine
    from vbotflow.store.tables import campaign_contact, campaign_run, rejected_contact

    engine = make_engine(db_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.select(campaign_run.c.state, campaign_run.c.vbot_campaign_id,
                                      campaign_run.c.phone_count, campaign_run.c.campaign_name)
                            .where(campaign_run.c.config_name == CONFIG_NAME,
                                   campaign_run.c.run_date == run_date)).mappings().all()
        contacts = conn.execute(sa.select(sa.func.count()).select_from(campaign_contact)
                                .where(campaign_contact.c.config_name == CONFIG_NAME)).scalar_one()
        rejected = conn.execute(sa.select(sa.func.count()).select_from(rejected_contact)
                                .where(rejected_contact.c.config_name == CONFIG_NAME)).scalar_one()
    engine.dispose()
    totals = requests.get(f"{sim_url}/_sim/totals", timeout=60).json()
    creates = requests.get(f"{sim_url}/_sim/creates", timeout=60).json()
    on_vbot = {t["name"]: t["contacts"] for t in totals.values()}
    problems = []
    if any(r["state"] != "created" for r in runs):
        problems.append(f"runs not created: {sorted({r['state'] for r in runs})}")
    if len(creates) != len(runs) or len(on_vbot) != len(runs):
        problems.append(f"{len(runs)} chunks, {len(creates)} create calls, {len(on_vbot)} campaigns on VBot")
    if sorted(int(r["vbot_campaign_id"]) for r in runs) != sorted(int(k) for k in totals):
        problems.append("campaign ids on record differ from VBot's")
    if any(on_vbot.get(r["campaign_name"]) != r["phone_count"] for r in runs):
        problems.append("a campaign on VBot holds another number of contacts than its chunk")
    if contacts + rejected != extracted:
        problems.append(f"extracted {extracted} != {contacts} contacts + {rejected} rejected")
    return {"chunks": len(runs), "create_calls": len(creates), "contacts": contacts, "rejected": rejected,
            "problems": problems}


def decisions(db_url: str, config_name: str) -> tuple[list, list]:
    """What the list decided, row by row: (crm id, phone, chunk) accepted; (crm id, reason) rejected."""
    import sqlalchemy as sa

    from vbotflow.store.db import make_engine
    from vbotflow.store.tables import campaign_contact, rejected_contact

    engine = make_engine(db_url)
    with engine.connect() as conn:
        accepted = conn.execute(sa.select(campaign_contact.c.crm_contact_id, campaign_contact.c.phone,
                                          campaign_contact.c.chunk_number, campaign_contact.c.fields_json)
                                .where(campaign_contact.c.config_name == config_name)
                                .order_by(campaign_contact.c.chunk_number, campaign_contact.c.crm_contact_id)).all()
        rejected = conn.execute(sa.select(rejected_contact.c.crm_contact_id, rejected_contact.c.raw_phone,
                                          rejected_contact.c.reason)
                                .where(rejected_contact.c.config_name == config_name)
                                .order_by(rejected_contact.c.crm_contact_id, rejected_contact.c.reason)).all()
    engine.dispose()
    return [tuple(r) for r in accepted], [tuple(r) for r in rejected]


def parts(config: Any, run_date: Any, crm_url: str, db_url: str, contacts: int, sample_chunks: int
          ) -> dict[str, list[float]]:
    """The build_list and create_campaign work without Airflow, timed piece by piece (same functions)."""
    from vbot_provider.hooks.vbot import SendProgress, VBotHook
    from vbotflow.campaigns import exclusions, list_store, outbox
    from vbotflow.campaigns.extract import extract, sql_parameters
    from vbotflow.campaigns.transform import transform
    from vbotflow.store.db import make_engine
    from vbotflow.vbot.api import payload_sha256

    times: dict[str, list[float]] = {}
    crm, db = make_engine(crm_url), make_engine(db_url)
    hook = VBotHook()
    try:
        raw = timed(times, "extract", lambda: extract(crm, config, sql_parameters(config, run_date), limit=contacts))

        def clean() -> Any:
            attempts_used, retry_later = exclusions.recycling_state(db, config.name, run_date,
                                                                    config.retry_after_hours)
            return transform(raw, config, suppressed=exclusions.suppressed_phones(db),
                             recently_sent=exclusions.recently_sent_phones(db, config, run_date),
                             attempts_used=attempts_used, retry_later=retry_later)

        result = timed(times, "transform (with exclusions)", clean)
        chunks = timed(times, "plan chunks", lambda: list_store.plan_chunks(config, result))
        hashes = timed(times, "bodies + sha256", lambda: {
            n: payload_sha256(hook.build_create_body(config.template_id, config.campaign_name_for(run_date, n), c,
                                                     group_code=config.group_code))
            for n, c in chunks.items()})
        timed(times, "suppressions (crm dnc)", lambda: exclusions.add_suppressions(
            db, result.dnc_phones, reason="crm_dnc", source=f"crm:{config.name}"))
        planned = timed(times, "list store (save_daily_list)",
                        lambda: list_store.save_daily_list(db, config, run_date, result, hashes))

        for chunk in planned[:sample_chunks]:
            contacts_ = timed(times, "create: chunk_contacts", lambda c=chunk: list_store.chunk_contacts(db, c.run_key))
            body = timed(times, "create: body", lambda c=chunk, cs=contacts_: hook.build_create_body(
                config.template_id, c.campaign_name, cs, group_code=config.group_code))
            spec = outbox.ChunkSpec(config.name, run_date, chunk.chunk_number, config.template_id,
                                    chunk.campaign_name, len(contacts_), timed(times, "create: sha256",
                                                                               lambda b=body: payload_sha256(b)))
            timed(times, "create: outbox look + claim", lambda s=spec: (outbox.created_campaign_id(db, s),
                                                                        outbox.claim_for_send(db, s)))
            campaign_id = timed(times, "create: HTTP POST (simulator)",
                                lambda b=body: hook.send_create_body(b, SendProgress()))
            timed(times, "create: outbox mark_created", lambda s=spec, i=campaign_id: outbox.mark_created(
                db, s.run_key, i))
        for name in [n for n in times if n.startswith("create: ")]:
            times[name] = [t / max(1, min(sample_chunks, len(planned))) for t in times[name]]  # per chunk
    finally:
        crm.dispose()
        db.dispose()
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000, help="CRM rows in the day's list")
    parser.add_argument("--customers", type=int, help="customers seeded (default: enough for --contacts)")
    parser.add_argument("--chunk", type=int, help="phones per campaign (default: the config's, 200)")
    parser.add_argument("--create-tasks", type=int,
                        help="max_create_tasks (default: the config's, 16; 1000: a task per campaign)")
    parser.add_argument("--sample-chunks", type=int, default=20, help="chunks timed through the create path")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument("--crm-url", help="an already seeded demo CRM to read (not seeded, not dropped)")
    args = parser.parse_args()

    load_before = loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="day_bench_"))
    os.environ.update({
        "VBOTFLOW_VAR_DIR": str(tmp / "var"),
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow' / 'airflow.db'}",
        "VBOTFLOW_CAMPAIGNS_DIR": str(tmp / "campaigns"),
    })
    (tmp / "airflow").mkdir()
    (tmp / "campaigns").mkdir()
    log_path = tmp / "airflow.log"

    import sqlalchemy as sa

    suffix = uuid.uuid4().hex[:8]
    names = {k: f"perf_day_{k}_{suffix}" for k in ("crm", "db", "parts") if not (k == "crm" and args.crm_url)}
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    url = {k: sa.engine.make_url(args.pg).set(database=n).render_as_string(hide_password=False)
           for k, n in names.items()}
    if args.crm_url:
        url["crm"] = args.crm_url
    simulator: subprocess.Popen | None = None
    try:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        from vbotflow.campaigns.config import load_config
        from vbotflow.store import db
        from vbotflow.vbot.timestamps import today_in_vietnam
        from vbotflow_dev.demo_crm import seed_crm

        run_date = today_in_vietnam()
        customers = args.customers or int(args.contacts / 0.58) + 1000  # 60 % of customers have an invoice
        if not args.crm_url:
            started = time.perf_counter()
            seeded = seed_crm(url["crm"], customers, seed=17, today=run_date)
            print(f"seeded {seeded.customers:,} customers, {seeded.invoices:,} invoices in "
                  f"{time.perf_counter() - started:.0f} s (not measured)", flush=True)
            if seeded.invoices < args.contacts:
                raise SystemExit(f"only {seeded.invoices} invoices for {args.contacts} contacts: raise --customers")
        db.upgrade(url["db"])
        db.upgrade(url["parts"])
        sql_path = tmp / "day_bench.sql"
        sql_path.write_text(BENCH_SQL, encoding="utf-8")
        config = load_config(write_config(tmp / "campaigns", sql_path, args.chunk, args.create_tasks))

        port = free_port()
        sim_url = f"http://127.0.0.1:{port}"
        with (tmp / "simulator.log").open("a") as log:
            simulator = subprocess.Popen([str(BIN / "vbotflow"), "simulator", "--port", str(port), "--seed", "17",
                                          "--no-dialing", "--log-level", "WARNING"], stdout=log, stderr=log)
        wait_for(f"{sim_url}/_sim/idle")
        with log_path.open("a") as log:
            subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, stdout=log, stderr=log)
        os.environ.update({
            "AIRFLOW_CONN_VBOTFLOW_DB": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url["db"]}}),
            "AIRFLOW_CONN_CRM_DB": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url["crm"]}}),
            "AIRFLOW_CONN_VBOT_DEFAULT": json.dumps({
                "conn_type": "vbot", "host": sim_url, "password": "sim-static-token",
                "extra": {"vbot_id": "44634001", "group_code": "PR2023030714401"}}),
        })
        from airflow.dag_processing.dagbag import DagBag

        with quiet(log_path):
            bag = DagBag(dag_folder=str(REPO / "dags"))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        dag = bag.get_dag(config.dag_id)
        # dag.test() runs every task through an in-process copy of Airflow's execution API, set up on
        # the first task's first calls (tens of seconds on a loaded machine) and counted in that task's
        # duration. A deployed worker talks to a running API server: a preview of one CRM row (reads
        # only, records and sends nothing) pays it first, with the imports of the first task.
        started = time.perf_counter()
        with quiet(log_path):
            warm_up = bag.get_dag("vbot_preview").test(
                run_conf={"config": CONFIG_NAME, "run_date": run_date.isoformat(), "limit": 1})
        api_start = time.perf_counter() - started
        if warm_up.state != "success":
            raise RuntimeError(f"the warm-up preview ended {warm_up.state}; see {log_path}")

        print(f"running {config.dag_id} for {run_date} with {args.contacts:,} CRM rows, "
              f"{config.max_phones_per_campaign} phones per campaign, at most {config.max_create_tasks} create "
              f"tasks (log: {log_path})", flush=True)
        started = time.perf_counter()
        with quiet(log_path):
            run = dag.test(run_conf={"run_date": run_date.isoformat(), "limit": args.contacts})
        wall = time.perf_counter() - started
        load_after_dag = loadavg()
        rows = task_figures(run)
        outcome = run.get_task_instance("build_list").xcom_pull(task_ids="build_list", key="outcome")
        print(f"DAG run {run.state}: wall time {wall:.1f} s (dag.test, scheduling included); dag.test's "
              f"one-time start-up paid by a one-row vbot_preview run before it: {api_start:.1f} s (not counted)")
        total = print_tasks(rows)
        day = check_the_day(url["db"], sim_url, run_date, outcome["extracted"])
        print(f"extracted {outcome['extracted']:,}, accepted {outcome['accepted']:,}, rejected "
              f"{sum(outcome['rejected_by_reason'].values()):,} {json.dumps(outcome['rejected_by_reason'])}")
        print(f"chunks {day['chunks']}, create calls {day['create_calls']}: "
              + ("exactly once, nothing lost" if not day["problems"] else "; ".join(day["problems"])))

        os.environ["AIRFLOW_CONN_VBOTFLOW_DB"] = json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": url["parts"]}})
        with quiet(log_path):
            times = parts(config, run_date, url["crm"], url["parts"], args.contacts, args.sample_chunks)
        print("where the time goes (the same functions without Airflow, one process; wall s, CPU s of "
              "this process):")
        for name, (wall_s, cpu_s) in times.items():
            unit = " per chunk" if name.startswith("create: ") else ""
            print(f"  {name:<34}{wall_s:8.3f}{cpu_s:8.3f}{unit}")
        # The baseline of this run: the same work without Airflow (list pieces + every chunk's create pieces).
        alone = sum(t[0] for n, t in times.items() if not n.startswith("create: ")) + day["chunks"] * sum(
            t[0] for n, t in times.items() if n.startswith("create: "))
        print(f"baseline, the same work without Airflow: {alone:.1f} s; Airflow's share of the task time: "
              f"{max(0.0, total - alone):.1f} s")
        same = decisions(url["db"], CONFIG_NAME) == decisions(url["parts"], CONFIG_NAME)
        print("the timed pieces made the DAG's decisions:", "yes" if same else "NO")
        load_after = loadavg()
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
              f"load before {load_before}; after the DAG {load_after_dag}; at the end {load_after}")
        met = run.state == "success" and total < TARGET_SECONDS and not day["problems"] and same
        print(f"target (< {TARGET_SECONDS:.0f} s of task time for {args.contacts:,} contacts, exactly once, "
              f"same decisions): {'met' if met else 'not met'} ({total:.1f} s)")
        return 0
    finally:
        if simulator is not None:
            simulator.terminate()
            try:
                simulator.wait(timeout=15)
            except subprocess.TimeoutExpired:
                simulator.kill()
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
