"""A day's list for one campaign config: extract → transform → record, or a dry-run preview.

Free of Airflow: the DAG passes engines and a ``body_for`` callable (the hook's body builder).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from vbotflow.campaigns import exclusions, list_store
from vbotflow.campaigns.config import CampaignConfig
from vbotflow.campaigns.extract import extract, sql_parameters
from vbotflow.campaigns.preview import write_preview
from vbotflow.campaigns.transform import transform
from vbotflow.vbot.api import payload_sha256

log = logging.getLogger(__name__)

BodyBuilder = Callable[[str, list[dict[str, str]]], dict[str, Any]]


@dataclass(frozen=True)
class DailyListOutcome:
    """Counts of a day's list and its planned chunks (what XCom carries: keys and counts)."""

    config: str
    run_date: str
    extracted: int
    accepted: int
    rejected_by_reason: dict[str, int]
    chunks: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    preview_dir: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def build_daily_list(
    *,
    config: CampaignConfig,
    run_date: date,
    crm_engine: Engine,
    db_engine: Engine,
    body_for: BodyBuilder,
    limit: int | None = None,
    dry_run: bool = False,
    preview_root: Path | None = None,
    interval: tuple[datetime | None, datetime | None] = (None, None),
) -> DailyListOutcome:
    """Extract and clean the day's list; record it (or, in a dry run, only write a preview)."""
    raw = extract(crm_engine, config, sql_parameters(config, run_date, *interval), limit=limit)
    attempts_used, retry_later = exclusions.recycling_state(db_engine, config.name, run_date, config.retry_after_hours)
    result = transform(
        raw, config,
        suppressed=exclusions.suppressed_phones(db_engine),
        recently_sent=exclusions.recently_sent_phones(db_engine, config, run_date),
        attempts_used=attempts_used,
        retry_later=retry_later,
    )
    rejected = result.rejected_by_reason()
    if result.extracted != len(result.accepted) + sum(rejected.values()):
        raise AssertionError(f"{config.name}: extracted {result.extracted} != accepted {len(result.accepted)} "
                             f"+ rejected {sum(rejected.values())}")
    log.info("%s %s: extracted %d, accepted %d, rejected %d %s", config.name, run_date, result.extracted,
             len(result.accepted), sum(rejected.values()), rejected)

    contacts = list_store.plan_chunks(config, result)
    bodies = {n: body_for(config.campaign_name_for(run_date, n), c) for n, c in contacts.items()}
    outcome = dict(config=config.name, run_date=run_date.isoformat(), extracted=result.extracted,
                   accepted=len(result.accepted), rejected_by_reason=rejected)
    if dry_run:
        out_dir = (preview_root or Path("var/dry_run")) / config.name / run_date.isoformat()
        paths = write_preview(out_dir, result, bodies, mask=True, first_chunk_only=True)
        for path in paths:
            if path.name.startswith("payload_chunk_"):
                log.info("Dry run, nothing sent. First chunk's payload (phones masked):\n%s",
                         path.read_text(encoding="utf-8"))
        log.info("Dry run preview written to %s", out_dir)
        return DailyListOutcome(**outcome, dry_run=True, preview_dir=str(out_dir))

    added = exclusions.add_suppressions(db_engine, result.dnc_phones, reason="crm_dnc", source=f"crm:{config.name}")
    if added:
        log.info("%d CRM do-not-call number(s) added to the suppression table", added)
    planned = list_store.save_daily_list(db_engine, config, run_date, result,
                                         {n: payload_sha256(b) for n, b in bodies.items()})
    return DailyListOutcome(**outcome, chunks=[p.as_dict() for p in planned])
