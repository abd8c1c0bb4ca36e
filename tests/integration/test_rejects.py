"""Rejected rows for people: counts by reason, rows with masked phones only, a CSV a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io

from tests.console_data import APPT, DAY, DAY_BEFORE, PAY, PHONES, seed
from vbotflow.campaigns.rejects import CSV_COLUMNS, reject_counts, rejected_rows, rejects_csv


def test_counts_by_reason_per_day_and_config(engine) -> None:
    seed(engine)
    counts = [(r["config_name"], r["reason"], r["count"]) for r in reject_counts(engine, run_date=DAY)]
    assert counts == [(APPT, "missing_field", 1), (PAY, "invalid_phone", 2), (PAY, "dnc", 1), (PAY, "duplicate", 1)]
    assert [r["reason"] for r in reject_counts(engine, run_date=DAY, config_names={APPT})] == ["missing_field"]
    assert reject_counts(engine, run_date=DAY_BEFORE) == []
    assert reject_counts(engine, run_date=DAY, config_names=set()) == []


def test_rows_carry_the_reason_and_a_masked_phone_never_the_number(engine) -> None:
    seed(engine)
    rows = rejected_rows(engine, run_date=DAY, config_names={PAY})
    assert [(r["reason"], r["crm_contact_id"], r["phone_masked"]) for r in rows] == [
        ("dnc", "C-22", "09******21"),
        ("duplicate", '=HYPERLINK("http://x","y")', "03******88"),
        ("invalid_phone", "C-20", "09********99"),  # no normalised phone: the CRM's spelling, masked
        ("invalid_phone", "C-21", "12*45"),
    ]
    assert rows[1]["detail"] == "same phone as C-1 (03******88), kept the newer row"
    assert set(rows[0]) == {"config_name", "run_date", "reason", "detail", "crm_contact_id", "phone_masked"}
    text = repr(rejected_rows(engine, run_date=DAY))
    assert not [p for p in PHONES if p in text]
    assert [r["reason"] for r in rejected_rows(engine, run_date=DAY, reason="dnc")] == ["dnc"]
    assert len(rejected_rows(engine, run_date=DAY, limit=2)) == 2


def test_the_csv_has_every_row_and_quotes_what_a_spreadsheet_would_run(engine) -> None:
    seed(engine)
    rows = rejected_rows(engine, run_date=DAY)
    parsed = list(csv.reader(io.StringIO(rejects_csv(rows))))
    assert tuple(parsed[0]) == CSV_COLUMNS
    assert len(parsed) == 1 + 5
    by_id = {line[4]: line for line in parsed[1:]}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in by_id
    assert by_id["C-22"] == [PAY, DAY.isoformat(), "dnc", "do-not-call flag in the CRM", "C-22", "09******21"]
    assert not [p for p in PHONES if p in rejects_csv(rows)]
