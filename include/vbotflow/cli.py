"""The ``vbotflow`` command line: database, campaign runs, and the tools other modules add."""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import date

from vbotflow import outbox
from vbotflow.store import db

Handler = Callable[[argparse.Namespace], int]

# Modules that add their own command groups: each has ``add_commands(groups)``, where ``groups`` is
# the subparsers object of the top-level parser, and sets ``handler`` on the parsers it adds.
# Imported only when the CLI is built, so `vbotflow db upgrade` does not load Flask or pandas.
COMMAND_MODULES: tuple[str, ...] = ("vbotflow.list_cli", "vbotflow.simulator.commands", "vbotflow.receiver.cli",
                                     "vbotflow.reconcile.cli")


def _db_upgrade(args: argparse.Namespace) -> int:
    db.upgrade(args.url, args.revision)
    print(f"integration database at revision {db.current_revision(args.url)}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    db.downgrade(args.url, args.revision)
    print(f"integration database at revision {db.current_revision(args.url)}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    print(db.current_revision(args.url) or "empty (no migration applied)")
    return 0


def _campaign_list(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.url)
    rows = outbox.list_runs(engine, state=args.state, config_name=args.config,
                            logical_date=date.fromisoformat(args.date) if args.date else None)
    columns = ("run_key", "state", "vbot_campaign_id", "phone_count", "campaign_name", "error_message")
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c])[:80] for c in columns))
    print(f"{len(rows)} campaign run(s)", file=sys.stderr)
    return 0


def _campaign_resolve(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.url)
    try:
        row = outbox.resolve(engine, args.run_key, created_id=args.created, resolved_by=args.by)
    except outbox.ResolveError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verdict = f"created as VBot campaign {row['vbot_campaign_id']}" if row["state"] == "created" else (
        "not created: the next run of its DAG will send it")
    print(f"campaign run {args.run_key} resolved: {verdict}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbotflow", description=__doc__)
    parser.add_argument("--url", help="integration DB URL (default: $VBOTFLOW_DB_URL or var/vbotflow.db)")
    groups = parser.add_subparsers(dest="group", required=True)

    db_cmd = groups.add_parser("db", help="integration database migrations").add_subparsers(
        dest="command", required=True)
    up = db_cmd.add_parser("upgrade", help="apply migrations (default: to the newest)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db_cmd.add_parser("downgrade", help="revert migrations (default: all)")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(handler=_db_downgrade)
    db_cmd.add_parser("current", help="print the applied revision").set_defaults(handler=_db_current)

    campaign = groups.add_parser("campaign", help="campaign runs (the create outbox)").add_subparsers(
        dest="command", required=True)
    listing = campaign.add_parser("list", help="list campaign runs, newest first")
    listing.add_argument("--state", choices=("pending", "sending", "created", "failed", "ambiguous"))
    listing.add_argument("--config", help="campaign config name")
    listing.add_argument("--date", help="logical date, YYYY-MM-DD")
    listing.set_defaults(handler=_campaign_list)
    resolve = campaign.add_parser(
        "resolve", help="settle an ambiguous run after checking VBot's portal")
    resolve.add_argument("run_key")
    verdict = resolve.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--created", type=int, metavar="VBOT_CAMPAIGN_ID",
                         help="the campaign exists at VBot with this id")
    verdict.add_argument("--not-created", action="store_true",
                         help="VBot has no such campaign: let the next run send it")
    resolve.add_argument("--by", default=getpass.getuser(), help="who resolved it (default: $USER)")
    resolve.set_defaults(handler=_campaign_resolve)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
