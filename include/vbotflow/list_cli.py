"""CLI commands for daily lists: ``crm seed``, ``transform``, ``suppression import``."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from vbotflow.calling_window import VIETNAM


def _crm_seed(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from vbotflow.crm_seed import seed_crm

    today = date.fromisoformat(args.today) if args.today else None
    summary = seed_crm(args.crm_url, args.rows, seed=args.seed, today=today)
    # The URL may carry a password (a container's log keeps whatever is printed).
    where = make_url(args.crm_url).render_as_string(hide_password=True)
    print(f"demo CRM at {where}: {summary.customers} customers ({summary.duplicate_phones} sharing a "
          f"phone, {summary.dnc} do-not-call), {summary.invoices} invoices, {summary.appointments} appointments")
    return 0


def _transform(args: argparse.Namespace) -> int:
    from datetime import datetime

    import pandas as pd

    from vbotflow.campaigns import load_config
    from vbotflow.extract import extract, sql_parameters
    from vbotflow.preview import counts, write_preview
    from vbotflow.store.db import make_engine
    from vbotflow.transform.contacts import transform
    from vbotflow.vbot_api import build_create_body

    config = load_config(args.config)
    run_date = date.fromisoformat(args.date) if args.date else datetime.now(VIETNAM).date()
    if args.input:
        raw = pd.read_csv(args.input, dtype=str, keep_default_na=False)
    else:
        engine = make_engine(args.crm_url)
        raw = extract(engine, config, sql_parameters(config, run_date), limit=args.limit)
        engine.dispose()
    result = transform(raw, config)
    from vbotflow.daily_list import plan_chunks

    bodies = {
        n: build_create_body(vbot_id=args.vbot_id, group_code=config.group_code or args.group_code,
                             template_id=config.template_id, name=config.campaign_name_for(run_date, n),
                             contacts=contacts)
        for n, contacts in plan_chunks(config, result).items()
    }
    paths = write_preview(Path(args.out), result, bodies, mask=not args.show_phones)
    print(json.dumps(counts(result), ensure_ascii=False))
    print(f"wrote {len(paths)} file(s) to {args.out} (suppression table and frequency cap not applied)")
    return 0


def _suppression_import(args: argparse.Namespace) -> int:
    from vbotflow.store.db import make_engine
    from vbotflow.suppression_import import import_suppression_file

    result = import_suppression_file(make_engine(args.url), Path(args.file), reason=args.reason)
    print(f"read {result.read} line(s): {result.added} added, {result.already_suppressed} already suppressed, "
          f"rejected {result.rejected or 'none'}")
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    crm = groups.add_parser("crm", help="the demo CRM").add_subparsers(dest="command", required=True)
    seed = crm.add_parser("seed", help="create a demo CRM with messy Vietnamese data")
    seed.add_argument("--url", dest="crm_url", required=True, help="SQLAlchemy URL of the CRM database")
    seed.add_argument("--rows", type=int, default=1000, help="customers to create (default 1000)")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--today", help="reference date for due dates and appointments (YYYY-MM-DD)")
    seed.set_defaults(handler=_crm_seed)

    tr = groups.add_parser("transform", help="preview a campaign's list outside Airflow")
    tr.add_argument("--config", required=True, help="campaign YAML file")
    source = tr.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="CSV with the columns the config's SQL returns")
    source.add_argument("--crm-url", help="SQLAlchemy URL of the CRM (runs the config's SQL)")
    tr.add_argument("--out", required=True, help="folder for counts.json, rejected.csv, payload_chunk_*.json")
    tr.add_argument("--date", help="run date (YYYY-MM-DD), default today in Vietnam")
    tr.add_argument("--limit", type=int, help="at most this many CRM rows")
    tr.add_argument("--vbot-id", default="VBOT_ID", help="vbotId to put in the preview payloads")
    tr.add_argument("--group-code", default="GROUP_CODE", help="groupCode when the config sets none")
    tr.add_argument("--show-phones", action="store_true", help="write phones unmasked")
    tr.set_defaults(handler=_transform)

    sup = groups.add_parser("suppression", help="the do-not-call table").add_subparsers(
        dest="command", required=True)
    imp = sup.add_parser("import", help="add a DNC list (CSV or text, numbers in the first column)")
    imp.add_argument("file")
    imp.add_argument("--reason", default="national_dnc")
    imp.set_defaults(handler=_suppression_import)
