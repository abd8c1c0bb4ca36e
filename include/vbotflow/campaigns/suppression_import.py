"""Import a Do-Not-Call list (the national DNC registry export, or any CSV/text of numbers)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from vbotflow.campaigns.exclusions import add_suppressions
from vbotflow.campaigns.phones import normalise_phones


@dataclass(frozen=True)
class ImportResult:
    read: int
    added: int
    already_suppressed: int
    rejected: dict[str, int]


def read_numbers(path: Path) -> pd.Series:
    """The first column of a CSV or text file; a header row without digits is skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row[0] for row in csv.reader(handle) if row]
    if rows and not any(ch.isdigit() for ch in rows[0]):
        rows = rows[1:]
    return pd.Series(rows, dtype="string[pyarrow]")


def import_suppression_file(engine: Engine, path: Path, reason: str = "national_dnc") -> ImportResult:
    """Normalise the file's numbers and add the valid ones to ``suppression``."""
    raw = read_numbers(path)
    normalised = normalise_phones(raw)
    good = normalised["phone"].dropna()
    added = add_suppressions(engine, good.tolist(), reason=reason, source=f"file:{path.name}")
    rejected = normalised["reject_reason"].dropna().value_counts().sort_index()
    return ImportResult(read=len(raw), added=added, already_suppressed=good.nunique() - added,
                        rejected={str(k): int(v) for k, v in rejected.items()})
