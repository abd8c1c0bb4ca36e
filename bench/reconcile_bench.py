"""Benchmark: one million auto-call deliveries → call_attempt → contact_outcome on PostgreSQL.

The product path is set-based SQL (``parse_new_events`` + ``refresh_outcomes``). The baseline, run
in the same process on the same data, is what one would write with pandas: read the events and the
contacts into data frames, normalise and classify, drop duplicates, merge, group, write back with
``to_sql``. Target (issues 6, 17): under 20 s and at least 5× the baseline. Both must give the same
outcomes (checked on counts, answered contacts and total cost).

Then the hourly case, which is what production runs: on top of the reconciled million, an hour's
deliveries (``--hour-events``, 10,000) are parsed and only the contacts they touch are refreshed.
Target (issue 17): under 1 s, and the outcomes exactly those of a full rebuild of the day (every
column but ``updated_at``), which runs next for comparison.

    .venv/bin/python bench/reconcile_bench.py [--events 1000000] [--hour-events 10000]
        [--pg postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from vbotflow.reconcile.attempts import parse_new_events
from vbotflow.reconcile.outcomes import refresh_outcomes
from vbotflow.store import db
from vbotflow.store.tables import contact_outcome
from vbotflow.vbot.status import STATUS_CLASSES

DAY = date(2026, 11, 26)
SENT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
STATUSES = [200] * 35 + [2] * 35 + [3] * 15 + [4] * 8 + [101] * 3 + [106, 102, 104, 999]


EVENT_COLUMNS = ("received_at, stored_at, landed_via, endpoint, kind, dedupe_key, body, body_sha256, headers_json, "
                 "vbot_campaign_id, phone, called_at, status_code, hotline, duration_seconds, postage, "
                 "service_charge, action_log")


def _event_row(rng: random.Random, now: datetime, campaign: int, phone: str, at: datetime) -> str:
    """One auto-call delivery as a line of COPY's text format (written by hand: ten times faster to load)."""
    status = rng.choice(STATUSES)
    seconds = rng.randrange(5, 120) if status == 200 else 0
    postage = Decimal(110 * -(-seconds // 6)) if status == 200 else Decimal(0)
    service = Decimal(300 * -(-seconds // 60)) if status == 200 else Decimal(0)
    body = json.dumps({"campaign_id": campaign, "phone": phone, "status": status}).encode()
    stamp = now.isoformat()
    return "\t".join((stamp, stamp, "http", "autocall", "autocall", "autocall:" + uuid.uuid4().hex,
                      "\\\\x" + body.hex(), hashlib.sha256(body).hexdigest(), "{}", str(campaign), phone,
                      at.isoformat(), str(status), "02473001234", str(seconds), str(postage), str(service), "")) + "\n"


def _another_key(line: str) -> str:
    """The same delivery under another dedupe key (VBot sending one result twice)."""
    fields = line.split("\t")
    fields[5] = "autocall:" + uuid.uuid4().hex
    return "\t".join(fields)


def load(url: str, events: int, per_campaign: int, seed: int) -> None:
    """Campaign runs, contacts and ``events`` auto-call events (about 3 attempts per contact, 2 % duplicates)."""
    rng = random.Random(seed)
    contacts = events // 3
    campaigns = max(1, contacts // per_campaign)
    engine = db.make_engine(url)
    raw = engine.raw_connection()
    cur = raw.cursor()
    now = datetime.now(UTC)
    with cur.copy("COPY campaign_run (run_key, config_name, run_date, chunk_number, template_id, campaign_name, "
                  "phone_count, payload_sha256, state, vbot_campaign_id, attempts, created_at, updated_at, sent_at) "
                  "FROM STDIN") as copy:
        for c in range(campaigns):
            copy.write_row((f"bench/{DAY}/{c:05d}", "bench", DAY, c, 1, f"bench_{c}", per_campaign, "0" * 64,
                            "created", 10_000 + c, 1, now, now, SENT))
    with cur.copy("COPY campaign_contact (run_key, config_name, run_date, chunk_number, crm_contact_id, phone, "
                  "fields_json, created_at) FROM STDIN") as copy:
        for i in range(contacts):
            c = i % campaigns
            copy.write_row((f"bench/{DAY}/{c:05d}", "bench", DAY, c, str(i), f"09{i:08d}", "{}", SENT))
    with cur.copy(f"COPY webhook_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
        written = 0
        i = 0
        lines: list[str] = []
        while written < events:
            c = i % campaigns
            phone = f"09{i:08d}" if rng.random() > 0.01 else f"849{i:08d}"[:11]  # a few in 84… form
            for attempt in range(3):
                if written >= events:
                    break
                row = _event_row(rng, now, 10_000 + c, phone, SENT + timedelta(minutes=30 * attempt + rng.random()))
                lines.append(row)
                written += 1
                if rng.random() < 0.02 and written < events:  # the same attempt delivered twice (another key)
                    lines.append(_another_key(row))
                    written += 1
            i += 1
            if len(lines) >= 50_000:
                copy.write("".join(lines))
                lines = []
        copy.write("".join(lines))
    raw.commit()
    raw.close()
    engine.dispose()


def baseline(url: str) -> tuple[float, dict]:
    """pandas: read, normalise, classify, dedupe, merge, aggregate, write."""
    engine = db.make_engine(url)
    start = time.perf_counter()
    with engine.connect() as conn:
        events = pd.read_sql(sa.text("SELECT event_id, vbot_campaign_id, phone, called_at, status_code, "
                                     "duration_seconds, postage, service_charge FROM webhook_event "
                                     "WHERE kind = 'autocall'"), conn)
        contacts = pd.read_sql(sa.text("SELECT cc.campaign_contact_id, cc.phone, cc.crm_contact_id, "
                                       "r.vbot_campaign_id FROM campaign_contact cc JOIN campaign_run r "
                                       "ON r.run_key = cc.run_key WHERE r.state = 'created'"), conn)
    phone = events["phone"].astype(str)
    events["phone"] = phone.where(~(phone.str.startswith("84") & (phone.str.len() == 11)), "0" + phone.str[2:])
    events["status_class"] = events["status_code"].map(STATUS_CLASSES).fillna("unknown")
    events = events.drop_duplicates(["vbot_campaign_id", "phone", "called_at", "status_code"])
    events.to_sql("bench_baseline_attempt", engine, if_exists="replace", index=False, chunksize=50_000)
    events["answered"] = events["status_code"] == 200
    events["talk"] = events["duration_seconds"].where(events["answered"], 0)
    events["cost"] = ((events["postage"].astype(float) * 100).round()
                      + (events["service_charge"].astype(float) * 100).round())
    events = events.sort_values("called_at")
    grouped = events.groupby(["vbot_campaign_id", "phone"]).agg(
        attempts=("event_id", "size"), answered=("answered", "max"), talk=("talk", "sum"), cost=("cost", "sum"),
        last_status=("status_code", "last"), last_class=("status_class", "last")).reset_index()
    outcomes = contacts.merge(grouped, on=["vbot_campaign_id", "phone"], how="left")
    outcomes["outcome"] = outcomes["last_class"].where(~outcomes["answered"].fillna(False).astype(bool), "answered")
    outcomes["outcome"] = outcomes["outcome"].fillna("missing")
    outcomes["total_cost"] = outcomes["cost"].fillna(0) / 100
    outcomes.to_sql("bench_baseline_outcome", engine, if_exists="replace", index=False, chunksize=50_000)
    seconds = time.perf_counter() - start
    summary = {"contacts": len(outcomes), "answered": int((outcomes["outcome"] == "answered").sum()),
               "total_cost": Decimal(str(round(float(outcomes["total_cost"].sum()), 2))).quantize(Decimal("0.01"))}
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_baseline_attempt"))
        conn.execute(sa.text("DROP TABLE bench_baseline_outcome"))
    engine.dispose()
    return seconds, summary


def product(url: str) -> tuple[float, float, dict]:
    engine = db.make_engine(url)
    start = time.perf_counter()
    parsed = parse_new_events(engine, settle_seconds=0)
    parse_seconds = time.perf_counter() - start
    refresh_outcomes(engine, DAY, DAY, missing_after_hours=0)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        co = contact_outcome
        row = conn.execute(sa.select(sa.func.count(), sa.func.sum(sa.case((co.c.is_answered, 1), else_=0)),
                                     sa.func.sum(co.c.total_cost))).one()
    engine.dispose()
    assert parsed.attempts_added > 0
    return seconds, parse_seconds, {"contacts": row[0], "answered": int(row[1]),
                                     "total_cost": Decimal(row[2]).quantize(Decimal("0.01"))}


def load_hour(url: str, events: int, per_campaign: int, total: int, seed: int) -> None:
    """An hour's deliveries on top of a reconciled day: later attempts for contacts that already have
    an outcome (2 % of them delivered twice) and 2 % late re-deliveries of results parsed long ago."""
    rng = random.Random(seed + 1)
    contacts = total // 3
    campaigns = max(1, contacts // per_campaign)
    again = events // 50
    engine = db.make_engine(url)
    raw = engine.raw_connection()
    cur = raw.cursor()
    now = datetime.now(UTC)
    with cur.copy(f"COPY webhook_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
        lines: list[str] = []
        while len(lines) < events - again:
            i = rng.randrange(contacts)
            row = _event_row(rng, now, 10_000 + i % campaigns, f"09{i:08d}",
                             SENT + timedelta(minutes=120 + 60 * rng.random()))
            lines.append(row)
            if rng.random() < 0.02 and len(lines) < events - again:
                lines.append(_another_key(row))
        copy.write("".join(lines))
    # Results parsed in the first load, delivered again under another key.
    cur.execute(f"INSERT INTO webhook_event ({EVENT_COLUMNS}) SELECT received_at, now(), landed_via, endpoint, kind, "
                "'again:' || event_id, body, body_sha256, headers_json, vbot_campaign_id, phone, called_at, "
                "status_code, hotline, duration_seconds, postage, service_charge, action_log FROM webhook_event "
                "WHERE event_id %% 97 = 0 ORDER BY event_id LIMIT %s", (again,))
    raw.commit()
    raw.close()
    engine.dispose()


def outcomes_fingerprint(url: str) -> tuple[int, str]:
    """Every outcome row but its ``updated_at`` (when it was written), as a count and a digest."""
    engine = db.make_engine(url)
    columns = [c.name for c in contact_outcome.c if c.name != "updated_at"]
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"SELECT count(*), md5(string_agg(concat_ws('|', {', '.join(columns)}), ',' "
            "ORDER BY campaign_contact_id)) FROM contact_outcome")).one()
    engine.dispose()
    return int(row[0]), str(row[1])


def hour(url: str) -> tuple[float, float, float, bool, int]:
    """The hourly run on top of the reconciled day, then a full rebuild of the day to compare with."""
    engine = db.make_engine(url)
    start = time.perf_counter()
    parsed = parse_new_events(engine, settle_seconds=0)
    parse_seconds = time.perf_counter() - start
    written = refresh_outcomes(engine, DAY, DAY, missing_after_hours=0)
    seconds = time.perf_counter() - start
    incremental = outcomes_fingerprint(url)
    started = time.perf_counter()
    refresh_outcomes(engine, DAY, DAY, missing_after_hours=0, full=True)
    rebuild_seconds = time.perf_counter() - started
    engine.dispose()
    print(f"hour: {parsed.to_event_id - parsed.from_event_id:,} new events, {parsed.attempts_added:,} new attempts, "
          f"{written:,} outcomes rewritten")
    return seconds, parse_seconds, rebuild_seconds, incremental == outcomes_fingerprint(url), written


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--hour-events", type=int, default=10_000)
    parser.add_argument("--per-campaign", type=int, default=500)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    name = f"vbotflow_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        db.upgrade(url)
        started = time.perf_counter()
        load(url, args.events, args.per_campaign, args.seed)
        print(f"loaded {args.events:,} events in {time.perf_counter() - started:.1f} s (not measured)")
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        engine.dispose()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"PostgreSQL at {args.pg.split('@')[-1]}; load before: {loadavg()}")
        base_seconds, base = baseline(url)
        seconds, parse_seconds, ours = product(url)
        print(f"set-based SQL: {seconds:6.2f} s (parse {parse_seconds:.2f} s, "
              f"outcomes {seconds - parse_seconds:.2f} s)")
        print(f"pandas baseline: {base_seconds:6.2f} s")
        print(f"speed-up: {base_seconds / seconds:.1f}x; results: ours {ours}, baseline {base}")
        same = ours == base
        print("same outcomes:", same)
        print("target 1 (< 20 s, >= 5x the baseline, same outcomes):",
              "met" if seconds < 20 and base_seconds / seconds >= 5 and same else "NOT met")

        load_hour(url, args.hour_events, args.per_campaign, args.events, args.seed)
        hour_seconds, hour_parse, rebuild_seconds, same_as_rebuild, _ = hour(url)
        print(f"hourly run: {hour_seconds:6.2f} s (parse {hour_parse:.2f} s, "
              f"outcomes {hour_seconds - hour_parse:.2f} s); full rebuild of the day instead: {rebuild_seconds:.2f} s")
        print("same outcomes as the full rebuild:", same_as_rebuild)
        print(f"target 2 ({args.hour_events:,} new events on {args.events:,} reconciled: < 1 s, same as a rebuild):",
              "met" if hour_seconds < 1 and same_as_rebuild else "NOT met")
        print(f"load after: {loadavg()}")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
