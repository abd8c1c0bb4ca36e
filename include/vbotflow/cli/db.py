"""``vbotflow db upgrade|downgrade|current``: the integration database's migrations."""

from __future__ import annotations

import argparse

from vbotflow.store import db


def _upgrade(args: argparse.Namespace) -> int:
    db.upgrade(args.url, args.revision)
    print(f"integration database at revision {db.current_revision(args.url)}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    db.downgrade(args.url, args.revision)
    print(f"integration database at revision {db.current_revision(args.url)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    print(db.current_revision(args.url) or "empty (no migration applied)")
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    commands = groups.add_parser("db", help="integration database migrations").add_subparsers(
        dest="command", required=True)
    up = commands.add_parser("upgrade", help="apply migrations (default: to the newest)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_upgrade)
    down = commands.add_parser("downgrade", help="revert migrations (default: all)")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(handler=_downgrade)
    commands.add_parser("current", help="print the applied revision").set_defaults(handler=_current)
