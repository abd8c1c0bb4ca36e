"""``vbotflow crm seed``: a demo CRM with messy Vietnamese data (registered by the entry point
group ``vbotflow.commands``)."""

from __future__ import annotations

import argparse
from datetime import date


def _crm_seed(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from vbotflow_dev.demo_crm import seed_crm

    today = date.fromisoformat(args.today) if args.today else None
    summary = seed_crm(args.crm_url, args.rows, seed=args.seed, today=today)
    # The URL may carry a password (a container's log keeps whatever is printed).
    where = make_url(args.crm_url).render_as_string(hide_password=True)
    print(f"demo CRM at {where}: {summary.customers} customers ({summary.duplicate_phones} sharing a "
          f"phone, {summary.dnc} do-not-call), {summary.invoices} invoices, {summary.appointments} appointments")
    return 0


def add_crm_commands(groups: argparse._SubParsersAction) -> None:
    crm = groups.add_parser("crm", help="the demo CRM").add_subparsers(dest="command", required=True)
    seed = crm.add_parser("seed", help="create a demo CRM with messy Vietnamese data")
    seed.add_argument("--url", dest="crm_url", required=True, help="SQLAlchemy URL of the CRM database")
    seed.add_argument("--rows", type=int, default=1000, help="customers to create (default 1000)")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--today", help="reference date for due dates and appointments "
                                      "(YYYY-MM-DD; default: today in Vietnam)")
    seed.set_defaults(handler=_crm_seed)
