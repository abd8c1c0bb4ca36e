"""``vbotflow transform`` (preview a list outside Airflow) and ``vbotflow suppression import`` (a DNC list)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from vbotflow.vbot.timestamps import VIETNAM


def _transform(args: argparse.Namespace) -> int:
    from datetime import datetime

    import pandas as pd

    from vbotflow.campaigns.config import load_config
    from vbotflow.campaigns.extract import extract, sql_parameters
    from vbotflow.campaigns.preview import write_preview
    from vbotflow.campaigns.transform import transform
    from vbotflow.store.db import make_engine
    from vbotflow.vbot.api import build_create_body

    config = load_config(args.config)
    run_date = date.fromisoformat(args.date) if args.date else datetime.now(VIETNAM).date()
    if args.input:
        raw = pd.read_csv(args.input, dtype=str, keep_default_na=False)
    else:
        engine = make_engine(args.crm_url)
        raw = extract(engine, config, sql_parameters(config, run_date), limit=args.limit)
        engine.dispose()
    result = transform(raw, config)
    from vbotflow.campaigns.list_store import plan_chunks

    bodies = {
        n: build_create_body(vbot_id=args.vbot_id, group_code=config.group_code or args.group_code,
                             template_id=config.template_id, name=config.campaign_name_for(run_date, n),
                             contacts=contacts)
        for n, contacts in plan_chunks(config, result).items()
    }
    paths = write_preview(Path(args.out), result, bodies, mask=not args.show_personal_data)
    # The counts as written, note on personal data included: one line for scripts.
    print(json.dumps(json.loads((Path(args.out) / "counts.json").read_text(encoding="utf-8")), ensure_ascii=False))
    print(f"wrote {len(paths)} file(s) to {args.out} (suppression table and frequency cap not applied; "
          f"personal data {'IN CLEAR' if args.show_personal_data else 'masked'})")
    return 0


def _suppression_import(args: argparse.Namespace) -> int:
    from vbotflow.campaigns.suppression_import import import_suppression_file
    from vbotflow.store.db import make_engine

    result = import_suppression_file(make_engine(args.url), Path(args.file), reason=args.reason)
    print(f"read {result.read} line(s): {result.added} added, {result.already_suppressed} already suppressed, "
          f"rejected {result.rejected or 'none'}")
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
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
    tr.add_argument("--show-personal-data", "--show-phones", dest="show_personal_data", action="store_true",
                    help="write phones, names and custom field values in clear (default: masked)")
    tr.set_defaults(handler=_transform)

    sup = groups.add_parser("suppression", help="the do-not-call table").add_subparsers(
        dest="command", required=True)
    imp = sup.add_parser("import", help="add a DNC list (CSV or text, numbers in the first column)")
    imp.add_argument("file")
    imp.add_argument("--reason", default="national_dnc")
    imp.set_defaults(handler=_suppression_import)
