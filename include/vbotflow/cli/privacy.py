"""``vbotflow privacy erase|retention|audit``: personal data on request, and no longer than needed."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def _key(dry_run: bool) -> bytes | None:
    from vbotflow.privacy.pseudonyms import PrivacyKeyError, key_from_env

    try:
        return key_from_env()
    except PrivacyKeyError:
        if dry_run:
            return None  # a dry run changes nothing and records nothing: it can go without
        raise


def _erase(args: argparse.Namespace) -> int:
    from vbotflow import settings
    from vbotflow.privacy.erase import ErasureError, ErasureRequest, erase
    from vbotflow.privacy.pseudonyms import PrivacyKeyError
    from vbotflow.privacy.rows import DeidentificationError
    from vbotflow.reconcile.writeback import DEFAULT_TABLE
    from vbotflow.store.db import make_engine

    request = ErasureRequest(phone=args.phone, crm_contact_id=args.crm_contact_id, config_name=args.config)
    engine = make_engine(args.url)
    crm = make_engine(args.crm_url) if args.crm_url else None
    try:
        result = erase(engine, request, key=_key(args.dry_run), performed_by=args.by, dry_run=args.dry_run,
                       spool_dir=Path(args.spool_dir) if args.spool_dir else settings.spool_dir(),
                       var_dir=settings.var_dir(), crm_engine=crm,
                       writeback_table=args.writeback_table or os.environ.get("VBOTFLOW_WRITEBACK_TABLE")
                       or DEFAULT_TABLE)
    except (ErasureError, PrivacyKeyError, DeidentificationError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
        if crm is not None:
            crm.dispose()
    print("\n".join(result.lines()))
    return 0


def _retention(args: argparse.Namespace) -> int:
    from vbotflow import settings
    from vbotflow.campaigns.config import load_configs
    from vbotflow.privacy.pseudonyms import PrivacyKeyError, key_from_env
    from vbotflow.privacy.retention import RetentionError, apply_retention, check_retention_days
    from vbotflow.privacy.rows import DeidentificationError
    from vbotflow.store.db import make_engine

    engine = make_engine(args.url)
    try:
        check_retention_days(args.days, load_configs())
        result = apply_retention(engine, key=key_from_env(), retention_days=args.days, var_dir=settings.var_dir(),
                                 dry_run=args.dry_run, performed_by=args.by)
    except (RetentionError, PrivacyKeyError, DeidentificationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print("\n".join(result.lines()))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from vbotflow.privacy import audit
    from vbotflow.privacy.erase import ErasureError, ErasureRequest
    from vbotflow.privacy.pseudonyms import PrivacyKeyError, Pseudonymiser, key_from_env
    from vbotflow.store.db import make_engine

    subject = None
    if args.phone:
        try:
            key = key_from_env()
            subject = Pseudonymiser(key).subject_hash(ErasureRequest(phone=args.phone).checked().subject())
        except (ErasureError, PrivacyKeyError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    engine = make_engine(args.url)
    try:
        entries = audit.entries(engine, subject_hash=subject, limit=args.limit)
    finally:
        engine.dispose()
    print("audit_id\taction\tperformed_at\tperformed_by\tsubject\trows\tfiles")
    for row in entries:
        changed = {k: v for k, v in row["rows"].items() if v}
        print(f"{row['audit_id']}\t{row['action']}\t{row['performed_at']:%Y-%m-%d %H:%M:%S}\t{row['performed_by']}\t"
              f"{(row['subject_hash'] or '-')[:12]}\t{changed}\t{row['files']}")
    print(f"{len(entries)} audit row(s)", file=sys.stderr)
    return 0


def add_commands(groups: argparse._SubParsersAction) -> None:
    from vbotflow.privacy import DEFAULT_RETENTION_DAYS

    privacy = groups.add_parser("privacy", help="personal data: erase a person, apply retention, read the audit"
                                ).add_subparsers(dest="command", required=True)
    erase = privacy.add_parser(
        "erase", help="erase one person from every table and file (keeps their number in suppression)",
        description="De-identify one person everywhere the project keeps data, add their number to the "
                    "suppression table as an opt-out, and record it in privacy_audit under a keyed hash. "
                    "Needs VBOTFLOW_PRIVACY_KEY (a dry run does not).")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the person's number, any spelling (0912 345 678, +84912345678, ...)")
    who.add_argument("--crm-contact-id", help="the person's contact id in the CRM")
    erase.add_argument("--config", help="with --crm-contact-id: only this campaign config's CRM")
    erase.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    erase.add_argument("--by", default=getpass.getuser(), help="who asks, for the audit (default: $USER)")
    erase.add_argument("--spool-dir", help="the receiver's spool (default: $VBOTFLOW_SPOOL_DIR or var/spool)")
    erase.add_argument("--crm-url", help="read-only: count the person's rows in the CRM's write-back table")
    erase.add_argument("--writeback-table", help="the CRM's write-back table (default: vbot_call_outcome)")
    erase.set_defaults(handler=_erase)

    retention = privacy.add_parser("retention", help="de-identify data older than the retention period "
                                   "(what the vbot_retention DAG runs daily)")
    retention.add_argument("--days", type=int, default=DEFAULT_RETENTION_DAYS,
                           help=f"retention period in days (default {DEFAULT_RETENTION_DAYS})")
    retention.add_argument("--dry-run", action="store_true", help="count what would change; change nothing")
    retention.add_argument("--by", default=getpass.getuser(), help="who runs it, for the audit (default: $USER)")
    retention.set_defaults(handler=_retention)

    listing = privacy.add_parser("audit", help="list erasures and retention runs, newest first")
    listing.add_argument("--phone", help="only the erasures of this number (needs VBOTFLOW_PRIVACY_KEY)")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_audit)
