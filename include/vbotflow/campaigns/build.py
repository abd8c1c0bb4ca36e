"""A day's list for one campaign config: extract → transform → record it, or only preview it.

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
from vbotflow.campaigns.transform import TransformResult, transform
from vbotflow.vbot.api import payload_sha256

log = logging.getLogger(__name__)

# Between the first and the last campaign name of a group's label; campaign names never hold it.
GROUP_LABEL_SEPARATOR = " … "
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

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class PreviewOutcome:
    """What a preview found and where its files are: counts and paths, no personal data."""

    config: str
    run_date: str
    extracted: int
    accepted: int
    rejected_by_reason: dict[str, int]
    chunk_sizes: dict[str, int]  # chunk number (as text: XCom is JSON) → contacts
    preview_dir: str
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def summary(self) -> str:
        """One paragraph a person reads in the task log."""
        rejected = sum(self.rejected_by_reason.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.rejected_by_reason.items())) or "none"
        largest = max(self.chunk_sizes.values(), default=0)
        return (f"Preview of {self.config} for {self.run_date}: {self.extracted} CRM row(s), {self.accepted} "
                f"accepted in {len(self.chunk_sizes)} campaign(s) of at most {largest} contacts, {rejected} "
                f"rejected ({reasons}). Nothing was sent to VBot and nothing was recorded. "
                f"Files in {self.preview_dir}: {', '.join(Path(f).name for f in self.files)} (phones masked).")


def group_chunks(chunks: list[dict[str, Any]], max_groups: int) -> list[list[dict[str, Any]]]:
    """The planned chunks in at most ``max_groups`` runs of consecutive chunks, as even as can be.

    One group per chunk while there are no more chunks than ``max_groups``: a create task per
    campaign, as on an ordinary day. A day of hundreds of campaigns gets ``max_groups`` tasks,
    since each task instance costs Airflow far more than the create it makes.
    """
    if max_groups < 1:
        raise ValueError(f"max_groups must be 1 or more, got {max_groups}")
    size, extra = divmod(len(chunks), max_groups)
    groups, start = [], 0
    for i in range(min(len(chunks), max_groups)):
        end = start + size + (1 if i < extra else 0)
        groups.append(chunks[start:end])
        start = end
    return groups


def group_label(chunks: list[dict[str, Any]]) -> str:
    """What the grid shows for a create task: the campaign name, or the first and last of a group
    (``group_label_ends`` reads them back)."""
    if len(chunks) == 1:
        return str(chunks[0]["campaign_name"])
    return f"{chunks[0]['campaign_name']}{GROUP_LABEL_SEPARATOR}{chunks[-1]['campaign_name']} ({len(chunks)} campaigns)"


def group_label_ends(label: str) -> tuple[str, str] | None:
    """The first and last campaign names of a group's ``group_label``; None for a single campaign's."""
    if GROUP_LABEL_SEPARATOR not in label:
        return None
    first, rest = label.split(GROUP_LABEL_SEPARATOR, 1)
    return first, rest.rsplit(" (", 1)[0]


def _clean_list(config: CampaignConfig, run_date: date, crm_engine: Engine, db_engine: Engine, limit: int | None,
                interval: tuple[datetime | None, datetime | None]) -> TransformResult:
    """Extract and clean the day's list: reads the CRM and the integration DB, writes nothing."""
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
    return result


def build_daily_list(
    *,
    config: CampaignConfig,
    run_date: date,
    crm_engine: Engine,
    db_engine: Engine,
    body_for: BodyBuilder,
    limit: int | None = None,
    interval: tuple[datetime | None, datetime | None] = (None, None),
) -> DailyListOutcome:
    """Extract and clean the day's list and record it: contacts, rejects, a pending campaign_run per chunk."""
    result = _clean_list(config, run_date, crm_engine, db_engine, limit, interval)
    contacts = list_store.plan_chunks(config, result)
    bodies = {n: body_for(config.campaign_name_for(run_date, n), c) for n, c in contacts.items()}
    added = exclusions.add_suppressions(db_engine, result.dnc_phones, reason="crm_dnc", source=f"crm:{config.name}")
    if added:
        log.info("%d CRM do-not-call number(s) added to the suppression table", added)
    planned = list_store.save_daily_list(db_engine, config, run_date, result,
                                         {n: payload_sha256(b) for n, b in bodies.items()}, contacts_by_chunk=contacts)
    log.info("%s %s: %d campaign(s) planned (%s)", config.name, run_date, len(planned),
             ", ".join(f"{p.campaign_name}: {p.phone_count} contacts" for p in planned) or "nothing to send")
    return DailyListOutcome(config=config.name, run_date=run_date.isoformat(), extracted=result.extracted,
                            accepted=len(result.accepted), rejected_by_reason=result.rejected_by_reason(),
                            chunks=[p.as_dict() for p in planned])


def preview_daily_list(
    *,
    config: CampaignConfig,
    run_date: date,
    crm_engine: Engine,
    db_engine: Engine,
    body_for: BodyBuilder,
    out_dir: Path,
    limit: int | None = None,
) -> PreviewOutcome:
    """The day's list as it would be sent, written to ``out_dir`` (personal data masked); nothing recorded or sent.

    The integration DB is only read (suppression, frequency cap, recycling), so the preview rejects
    what a real run of that day would reject.
    """
    result = _clean_list(config, run_date, crm_engine, db_engine, limit, (None, None))
    contacts = list_store.plan_chunks(config, result)
    bodies = {n: body_for(config.campaign_name_for(run_date, n), c) for n, c in contacts.items()}
    paths = write_preview(out_dir, result, bodies, mask=True, first_chunk_only=True)
    return PreviewOutcome(config=config.name, run_date=run_date.isoformat(), extracted=result.extracted,
                          accepted=len(result.accepted), rejected_by_reason=result.rejected_by_reason(),
                          chunk_sizes={str(n): len(c) for n, c in contacts.items()}, preview_dir=str(out_dir),
                          files=[str(p) for p in paths])
