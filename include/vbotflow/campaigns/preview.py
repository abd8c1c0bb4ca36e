"""Preview files of a day's list (``vbot_preview``, ``vbotflow transform``): payloads, rejects, counts.

Personal data is masked unless the operator asks for clear values (``vbotflow transform
--show-personal-data``): phones (``09******78``), names and custom field values (``N***** V** A*``,
``*******``). ``counts.json`` and every payload file say which it is.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from vbotflow.campaigns.transform import TransformResult
from vbotflow.privacy.masking import mask_phone, mask_text

# Contact fields that are settings, not data about the person.
NOT_PERSONAL_FIELDS = frozenset({"numberCall"})
# Previews of the vbot_preview DAG live in <var>/previews/<config>/<run date>/ (erasure and retention look there).
PREVIEWS_DIR = "previews"


def preview_dir(var_dir: Path, config_name: str, run_date: object) -> Path:
    """Where the preview of one config and run date is written."""
    return var_dir / PREVIEWS_DIR / config_name / str(run_date)
MASKED_NOTE = ("masked: phones, names and custom field values (vbotflow transform --show-personal-data "
               "writes them in clear)")
CLEAR_NOTE = ("IN CLEAR: phones, names and custom field values, as asked (--show-personal-data); delete "
              "this folder once read")


def masked_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A create body with every phone, name and custom field value masked."""
    masked = copy.deepcopy(dict(body))
    for contact in masked.get("phones", []):
        for item in contact["fields"]:
            if item["key"] == "phone":
                item["value"] = mask_phone(item["value"])
            elif item["key"] not in NOT_PERSONAL_FIELDS:
                item["value"] = mask_text(item["value"])
    return masked


def counts(result: TransformResult) -> dict[str, Any]:
    """Extracted, accepted, rejected (by reason) and chunk sizes."""
    chunk_sizes = result.accepted.groupby("chunk_number").size()
    return {
        "extracted": result.extracted,
        "accepted": len(result.accepted),
        "rejected": len(result.rejected),
        "rejected_by_reason": result.rejected_by_reason(),
        "chunks": {int(k): int(v) for k, v in chunk_sizes.items()},
    }


def write_preview(out_dir: Path, result: TransformResult, bodies: Mapping[int, Mapping[str, Any]], *,
                  mask: bool = True, first_chunk_only: bool = False) -> list[Path]:
    """Write ``counts.json``, ``rejected.csv`` and ``payload_chunk_NNN.json``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    note = MASKED_NOTE if mask else CLEAR_NOTE
    counts_path = out_dir / "counts.json"
    counts_path.write_text(json.dumps({**counts(result), "personal_data": note}, indent=2, ensure_ascii=False),
                           encoding="utf-8")
    written.append(counts_path)

    rejected = result.rejected[["crm_contact_id", "raw_phone", "phone", "reject_reason", "reject_detail"]].copy()
    if mask:
        for column in ("raw_phone", "phone"):
            rejected[column] = rejected[column].map(lambda v: None if pd.isna(v) else mask_phone(v))
    rejected_path = out_dir / "rejected.csv"
    rejected.rename(columns={"reject_reason": "reason", "reject_detail": "detail"}).to_csv(rejected_path, index=False)
    written.append(rejected_path)

    for number in sorted(bodies)[:1] if first_chunk_only else sorted(bodies):
        body = masked_body(bodies[number]) if mask else bodies[number]
        path = out_dir / f"payload_chunk_{number:03d}.json"
        path.write_text(json.dumps({"_personal_data": note, **body}, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written
