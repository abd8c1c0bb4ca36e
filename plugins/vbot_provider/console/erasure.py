"""Erasure from the console: the same ``vbotflow.privacy.erase`` the CLI runs, answered as JSON.

The answer holds counts, a keyed hash and CRM contact ids — never the number or a name — and every
refusal the CLI prints becomes a 4xx with the same words.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.engine import Engine


def run(engine: Engine, phone: str | None, crm_contact_id: str | None, config: str | None, *, dry_run: bool,
        performed_by: str) -> dict[str, Any]:
    """Erase (or, in a dry run, count) one person's data; the result in words and in numbers."""
    from vbotflow import settings
    from vbotflow.privacy.erase import ErasureError, ErasureRequest, erase
    from vbotflow.privacy.pseudonyms import PrivacyKeyError, key_from_env
    from vbotflow.privacy.rows import DeidentificationError
    from vbotflow.reconcile.writeback import DEFAULT_TABLE

    request = ErasureRequest(phone=(phone or "").strip() or None, crm_contact_id=(crm_contact_id or "").strip()
                             or None, config_name=(config or "").strip() or None)
    try:
        key = key_from_env()
    except PrivacyKeyError as err:
        if not dry_run:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)) from err
        key = None  # a dry run changes and records nothing: it can go without the key
    try:
        result = erase(engine, request, key=key, performed_by=performed_by, dry_run=dry_run,
                       spool_dir=settings.spool_dir(), var_dir=settings.var_dir(), crm_engine=None,
                       writeback_table=os.environ.get("VBOTFLOW_WRITEBACK_TABLE") or DEFAULT_TABLE)
    except ErasureError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from err
    except (PrivacyKeyError, DeidentificationError, TimeoutError) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(err)) from err
    lines = result.lines()
    return {"dry_run": result.dry_run, "found": result.found, "subject_hash": result.subject_hash,
            "rows": result.rows, "files": result.files.counts(), "suppression": result.suppression,
            "crm_contact_ids": result.crm_contact_ids, "audit_id": result.audit_id, "lines": lines,
            "summary": f"{sum(result.rows.values())} row(s), {sum(result.files.counts().values())} file(s)"}
