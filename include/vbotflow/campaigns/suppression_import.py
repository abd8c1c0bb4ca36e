"""Import a Do-Not-Call list (the national DNC registry export, or any CSV/text of numbers)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from vbotflow.campaigns.exclusions import add_suppressions
from vbotflow.campaigns.phones import normalise_phones
from vbotflow.phone.reference import numbers_in_cell
from vbotflow.phone.rules import SEVERAL_NUMBERS


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


def dnc_numbers(raw: pd.Series) -> tuple[list[str], pd.Series]:
    """Every mobile the values name, read as the daily list reads them — a number with a note
    around it and each of several numbers in one value count too, since for do-not-call reading
    more is the safe side — and the reject reason of each value that names none."""
    normalised = normalise_phones(raw)
    numbers = normalised["phone"].dropna().tolist()
    reasons = normalised["reject_reason"].where(normalised["phone"].isna())
    for position in (reasons == SEVERAL_NUMBERS).to_numpy(na_value=False).nonzero()[0]:
        found = numbers_in_cell(raw.iat[position])
        numbers += found
        if found:
            reasons.iat[position] = None
    return numbers, reasons.dropna()


def import_suppression_file(engine: Engine, path: Path, reason: str = "national_dnc") -> ImportResult:
    """Read the file's numbers and add every Vietnamese mobile among them to ``suppression``."""
    raw = read_numbers(path)
    numbers, rejected = dnc_numbers(raw)
    added = add_suppressions(engine, numbers, reason=reason, source=f"file:{path.name}")
    counts = rejected.value_counts()
    return ImportResult(read=len(raw), added=added, already_suppressed=len(set(numbers)) - added,
                        rejected={str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])) if v})
