"""``vbotflow receiver`` (development server) and ``vbotflow spool drain`` (replay by hand)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from vbotflow import settings
from vbotflow.receiver.logmask import TokenMaskingFilter, configured_secrets


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.url:
        overrides["DB_URL"] = args.url
    if getattr(args, "spool_dir", None):
        overrides["SPOOL_DIR"] = args.spool_dir
    return overrides


def _serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from vbotflow.receiver.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(_overrides(args))
    # Werkzeug logs each request line, query string included: every line passes the redactor.
    redactor = TokenMaskingFilter(configured_secrets(app.config["WEBHOOK_TOKENS"], app.config["SIGNING_SECRET"]))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def _drain(args: argparse.Namespace) -> int:
    from vbotflow.receiver import store
    from vbotflow.receiver.runtime import receiver_engine
    from vbotflow.receiver.spool import Spool

    spool = Spool(args.spool_dir or settings.spool_dir())
    engine = receiver_engine(args.url or settings.db_url(), timeout_seconds=args.db_timeout)
    try:
        result = spool.drain(lambda delivery: store.land_spooled(engine, delivery), store.OUTAGE_ERRORS)
    finally:
        engine.dispose()
    if result.busy:
        print(f"another process is draining {spool.directory}; {result.left} delivery(ies) waiting", file=sys.stderr)
        return 1
    print(f"replayed {result.landed} spooled delivery(ies) from {spool.directory}; {result.left} left")
    if result.corrupt:
        print(f"{result.corrupt} unreadable file(s) renamed *.corrupt: look at them", file=sys.stderr)
    if result.failed:
        print(f"{result.failed} delivery(ies) failed on their own and stay spooled: see the log", file=sys.stderr)
    if result.error:
        print(f"stopped: {result.error}", file=sys.stderr)
        return 1
    return 1 if result.failed else 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    """Add ``receiver`` and ``spool`` to the ``vbotflow`` command line."""
    serve = groups.add_parser(
        "receiver", help="run the webhook receiver (development server; use gunicorn in production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8081)
    serve.add_argument("--spool-dir", help="default: $VBOTFLOW_SPOOL_DIR or var/spool")
    serve.set_defaults(handler=_serve)

    spool = groups.add_parser("spool", help="the receiver's local spool").add_subparsers(dest="command", required=True)
    drain = spool.add_parser("drain", help="replay spooled deliveries into the database (safe to repeat)")
    drain.add_argument("--spool-dir", help="default: $VBOTFLOW_SPOOL_DIR or var/spool")
    drain.add_argument("--db-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="give up on an unreachable or locked database after this long (default 10)")
    drain.set_defaults(handler=_drain)
