"""The ``vbotflow`` command line: database, campaign runs, lists, the receiver, reports, personal data."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

# Each module has ``add_commands(groups)`` (``groups``: the top-level subparsers) and sets ``handler``
# on the parsers it adds. Heavy imports (Flask, pandas) stay inside the handlers, so that
# `vbotflow db upgrade` loads neither.
COMMAND_MODULES: tuple[str, ...] = ("vbotflow.cli.db", "vbotflow.cli.campaign", "vbotflow.cli.lists",
                                     "vbotflow.cli.receiver", "vbotflow.cli.report", "vbotflow.cli.privacy")
# Other installed packages add commands through this entry point group: the development package
# adds `simulator` and `crm seed` there, so the runtime never imports it.
PLUGIN_GROUP = "vbotflow.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbotflow", description=__doc__)
    parser.add_argument("--url", help="integration DB URL (default: $VBOTFLOW_DB_URL or var/vbotflow.db)")
    groups = parser.add_subparsers(dest="group", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(groups)
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        plugin.load()(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
