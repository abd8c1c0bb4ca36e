"""``vbotflow campaign list|resolve``: the campaign runs of the create outbox."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

from vbotflow.campaigns import outbox
from vbotflow.store import db
from vbotflow.store.tables import CAMPAIGN_RUN_STATES


def _list(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.url)
    rows = outbox.list_runs(engine, state=args.state, config_name=args.config,
                            run_date=date.fromisoformat(args.date) if args.date else None)
    columns = ("run_key", "state", "vbot_campaign_id", "phone_count", "campaign_name", "error_message")
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c])[:80] for c in columns))
    print(f"{len(rows)} campaign run(s)", file=sys.stderr)
    return 0


def _resolve(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.url)
    try:
        row = outbox.resolve(engine, args.run_key, created_id=args.created, resolved_by=args.by, via="cli")
    except outbox.ResolveError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verdict = f"created as VBot campaign {row['vbot_campaign_id']}" if row["state"] == "created" else (
        "not created: the next run of its DAG will send it")
    print(f"campaign run {args.run_key} resolved: {verdict}")
    return 0


def _history(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.url)
    rows = outbox.resolve_history(engine, [args.run_key] if args.run_key else None, limit=args.limit)
    columns = ("resolved_at", "run_key", "verdict", "vbot_campaign_id", "state_before", "state_after",
               "resolved_by", "resolved_via")
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c]) for c in columns))
    print(f"{len(rows)} resolve(s)", file=sys.stderr)
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    campaign = groups.add_parser("campaign", help="campaign runs (the create outbox)").add_subparsers(
        dest="command", required=True)
    listing = campaign.add_parser("list", help="list campaign runs, newest first")
    listing.add_argument("--state", choices=CAMPAIGN_RUN_STATES)
    listing.add_argument("--config", help="campaign config name")
    listing.add_argument("--date", help="run date, YYYY-MM-DD")
    listing.set_defaults(handler=_list)
    resolve = campaign.add_parser("resolve", help="settle an ambiguous run after checking VBot's portal")
    resolve.add_argument("run_key")
    verdict = resolve.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--created", type=int, metavar="VBOT_CAMPAIGN_ID",
                         help="the campaign exists at VBot with this id")
    verdict.add_argument("--not-created", action="store_true",
                         help="VBot has no such campaign: let the next run send it")
    resolve.add_argument("--by", default=getpass.getuser(), help="who resolved it (default: $USER)")
    resolve.set_defaults(handler=_resolve)
    history = campaign.add_parser("history", help="who resolved which run, when, and what it was before")
    history.add_argument("run_key", nargs="?", help="one run (default: every run)")
    history.add_argument("--limit", type=int, default=100, help="newest N (default 100)")
    history.set_defaults(handler=_history)
