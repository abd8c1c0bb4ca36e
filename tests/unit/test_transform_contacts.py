"""The daily-list transform: every extracted row is accepted or rejected with a reason."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vbotflow.campaigns.config import load_config
from vbotflow.campaigns.transform import ExtractError, _keepers, _nfc, transform, vbot_contacts


@pytest.fixture
def config(tmp_path: Path):
    doc = {
        "name": "nhac_no", "template_id": 2932, "sql_file": "payment_reminder.sql",
        "columns": {"contact_id": "customer_id", "phone": "phone", "updated_at": "updated_at", "dnc": "is_dnc"},
        "fields": {"name": "full_name", "amount": "amount_due", "due_date": "due_date"},
        "required_fields": ["name", "amount"], "number_call": 2, "max_phones_per_campaign": 2,
    }
    path = tmp_path / "nhac_no.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def _rows(*rows) -> pd.DataFrame:
    columns = ["customer_id", "full_name", "phone", "is_dnc", "updated_at", "amount_due", "due_date"]
    return pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows])


def test_each_row_gets_exactly_one_fate(config) -> None:
    raw = _rows(
        (1, "Nguyễn Văn An", "0912 345 678", 0, datetime(2026, 11, 1), 150000.0, date(2026, 11, 28)),
        (2, "Nguyễn Văn An", "+84912345678", 0, datetime(2026, 11, 20), 150000.0, date(2026, 11, 28)),  # newer
        (3, "Trần Bình", "024 3822 1234", 0, datetime(2026, 11, 1), 90000.0, date(2026, 11, 28)),
        (4, "Lê Cường", "", 0, datetime(2026, 11, 1), 90000.0, date(2026, 11, 28)),
        (5, "Phạm Dung", "0387654321", 1, datetime(2026, 11, 1), 90000.0, date(2026, 11, 28)),
        (6, "Phạm Dung", "038 765 4321", 0, datetime(2026, 11, 2), 90000.0, date(2026, 11, 28)),  # DNC phone
        (7, "Hoàng Em", "0971111111", 0, datetime(2026, 11, 1), 90000.0, date(2026, 11, 28)),  # suppressed
        (8, None, "0972222222", 0, datetime(2026, 11, 1), None, date(2026, 11, 28)),  # missing fields
        (9, "Vũ Giang", "0973333333", 0, datetime(2026, 11, 1), 90000.0, date(2026, 11, 28)),  # recently sent
        (10, "Đỗ Hà", "01689123456", 0, datetime(2026, 11, 1), 250000.0, date(2026, 11, 29)),
        (11, "Bùi Khánh", "0974444444", 0, datetime(2026, 11, 1), 250000.0, date(2026, 11, 29)),
    )
    result = transform(raw, config, suppressed=["0971111111"], recently_sent=["0973333333"])

    assert result.extracted == 11 == len(result.accepted) + len(result.rejected)
    fates = {int(r.crm_contact_id): r.reject_reason for r in result.rejected.itertuples()}
    assert fates == {1: "duplicate", 3: "not_mobile", 4: "missing_phone", 5: "dnc", 6: "dnc",
                     7: "suppressed", 8: "missing_field", 9: "frequency_cap"}
    details = dict(zip(result.rejected["crm_contact_id"], result.rejected["reject_detail"], strict=True))
    assert details["1"] == "kept CRM contact 2"
    assert details["8"] == "name, amount"
    assert result.rejected_by_reason() == {"dnc": 2, "duplicate": 1, "frequency_cap": 1, "missing_field": 1,
                                           "missing_phone": 1, "not_mobile": 1, "suppressed": 1}
    assert list(zip(result.accepted["crm_contact_id"], result.accepted["phone"], result.accepted["chunk_number"],
                    strict=True)) == [("10", "0389123456", 1), ("2", "0912345678", 1), ("11", "0974444444", 2)]


def test_do_not_call_holds_for_the_number_in_every_spelling(config) -> None:
    day, due = datetime(2026, 11, 1), date(2026, 11, 28)
    raw = _rows(
        (1, "A", "0912 345 678 (Zalo)", 1, day, 1.0, due),  # flagged, with a note around the number
        (2, "A", "+84\u00a0912\u00a0345\u00a0678", 0, day, 1.0, due),  # the same number, another spelling
        (3, "B", "0387 654 321 / 01689 123 456", 1, day, 1.0, due),  # flagged, two numbers in the cell
        (4, "B", "0389123456", 0, day, 1.0, due),  # the second of them, in its new form
        (5, "B", "038\u2013765\u20134321", 0, day, 1.0, due),  # the first, with en dashes
        (6, "C", "không có", 1, day, 1.0, due),  # flagged, but no number to read
        (7, "D", None, 1, day, 1.0, due),  # flagged, no phone at all
        (8, "E", "+65 6123 4567", 1, day, 1.0, due),  # flagged foreign number: read, never called anyway
        (9, "F", "9.12346E+08", 1, day, 1.0, due),  # flagged, rounded by a spreadsheet
        (10, "G", "0971 111 111", 0, day, 1.0, due),
    )
    result = transform(raw, config)

    assert result.extracted == 10 == len(result.accepted) + len(result.rejected)
    rejected = result.rejected.set_index("crm_contact_id")
    assert rejected["reject_reason"].to_dict() == {
        "1": "dnc", "2": "dnc", "3": "dnc", "4": "dnc", "5": "dnc", "6": "dnc_unreadable", "7": "dnc_unreadable",
        "8": "dnc", "9": "dnc_unreadable"}
    assert rejected["reject_detail"].to_dict() == {
        "1": "CRM do-not-call flag",
        "2": "CRM do-not-call flag on another record of this number",
        "3": "CRM do-not-call flag (2 numbers in the cell)",
        "4": "CRM do-not-call flag on another record of this number",
        "5": "CRM do-not-call flag on another record of this number",
        "6": "CRM do-not-call flag, but the phone cannot be read (text without a complete phone number): no number "
             "could be suppressed; correct the CRM record",
        "7": "CRM do-not-call flag, but the phone cannot be read (no phone number): no number could be "
             "suppressed; correct the CRM record",
        "8": "CRM do-not-call flag",
        "9": "CRM do-not-call flag, but the phone cannot be read (scientific notation with digits lost (the "
             "spreadsheet rounded the number)): no number could be suppressed; correct the CRM record",
    }
    assert result.rejected_by_reason() == {"dnc": 6, "dnc_unreadable": 3}
    assert sorted(result.dnc_phones) == ["0387654321", "0389123456", "0912345678"]
    assert result.accepted["crm_contact_id"].tolist() == ["10"]


def test_a_phone_column_typed_as_numbers_is_read_like_text(config) -> None:
    # SQLite, PostgreSQL and MariaDB hand an INTEGER column with a NULL to pandas as float64.
    day, due = datetime(2026, 11, 1), date(2026, 11, 28)
    raw = _rows((1, "A", 912345678.0, 0, day, 1.0, due), (2, "B", None, 0, day, 1.0, due),
                (3, "C", 1689123456.0, 0, day, 1.0, due), (4, "D", 912345678.5, 0, day, 1.0, due),
                (5, "E", 2838221234.0, 0, day, 1.0, due))
    assert raw["phone"].dtype == "float64"
    result = transform(raw, config)
    assert list(zip(result.accepted["crm_contact_id"], result.accepted["phone"], strict=True)) == [
        ("3", "0389123456"), ("1", "0912345678")]
    rejected = result.rejected.set_index("crm_contact_id")
    assert rejected["reject_reason"].to_dict() == {"2": "missing_phone", "4": "invalid_phone", "5": "not_mobile"}
    # What rejected_contact and rejected.csv show: the cell's digits, not a float's text.
    assert rejected["raw_phone"].tolist()[1:] == ["912345678.5", "2838221234"]
    assert pd.isna(rejected.loc["2", "raw_phone"])


def test_every_new_reason_is_counted_and_nothing_is_lost(config) -> None:
    day, due = datetime(2026, 11, 1), date(2026, 11, 28)
    phones = ["+912345678", "0912345678 / 0987654321", "0912345678 (Zalo)", "028 3822 1234", "0912345678",
              "'0987654321", "0912345678.0", "\uff10\uff19\uff17\uff11\uff11\uff11\uff11\uff11\uff11\uff11"]
    raw = _rows(*((i, "A", p, 0, day, 1.0, due) for i, p in enumerate(phones, start=1)))
    result = transform(raw, config)
    assert result.extracted == len(phones) == len(result.accepted) + len(result.rejected)
    assert result.rejected_by_reason() == {"duplicate": 1, "foreign_number": 1, "not_mobile": 1,
                                           "phone_with_note": 1, "several_numbers": 1}
    assert sorted(result.accepted["phone"]) == ["0912345678", "0971111111", "0987654321"]


def test_contacts_carry_strings_in_nfc_and_number_call(config) -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n An"  # "Nguyễn Văn An" typed with combining marks
    raw = _rows((1, decomposed, "0912345678", 0, datetime(2026, 11, 1), 150000.0, date(2026, 11, 28)))
    (contact,) = vbot_contacts(transform(raw, config).accepted, config)
    assert contact == {"phone": "0912345678", "name": "Nguyễn Văn An", "amount": "150000",
                       "due_date": "2026-11-28", "numberCall": "2"}


def test_ties_in_update_time_go_to_the_smallest_contact_id(config) -> None:
    same = datetime(2026, 11, 1)
    raw = _rows((20, "A", "0912345678", 0, same, 1.0, None), (3, "B", "0912345678", 0, same, 1.0, None))
    result = transform(raw, config)
    assert result.accepted["crm_contact_id"].tolist() == ["3"]
    assert result.rejected["reject_detail"].tolist() == ["kept CRM contact 3"]


def test_missing_columns_are_named(config) -> None:
    with pytest.raises(ExtractError, match=r"nhac_no.yaml: the SQL result has no column\(s\) amount_due"):
        transform(_rows((1, "A", "0912345678", 0, None, 1, None)).drop(columns=["amount_due"]), config)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_nfc_of_only_the_changeable_values_equals_nfc_of_all(values: list[str]) -> None:
    array = pa.chunked_array([pa.array(values, pa.large_string())])
    assert _nfc(array).to_pylist() == [unicodedata.normalize("NFC", v) for v in values]


@pytest.mark.parametrize("text", ["\u0a33", "\u0958", "\u2126", "\uf900", "\U0002f800", "\u1100\u1161", "a\u0323\u0302",
                                  "Nguye\u0302\u0303n"])
def test_nfc_changes_found_by_hypothesis_and_the_unicode_tables(text: str) -> None:
    array = pa.chunked_array([pa.array([text], pa.large_string())])
    assert _nfc(array).to_pylist() == [unicodedata.normalize("NFC", text)] != [text]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=40))
def test_the_kept_duplicate_is_the_latest_then_the_smallest_id_then_the_first(rows) -> None:
    phone, updated, id_order = (np.array(column) for column in zip(*rows, strict=True))
    keeper = _keepers(phone, updated.astype(np.int64), id_order.astype(float))
    # The rule written plainly: sort by phone, latest first, smallest id first, extract order last.
    ranked = sorted(range(len(rows)), key=lambda i: (phone[i], -updated[i], id_order[i], i))
    expected = {}
    for i in ranked:
        expected.setdefault(phone[i], i)
    assert keeper.tolist() == [expected[p] for p in phone]


@pytest.mark.parametrize(("values", "expected"), [
    (pd.Series([7, -20, 0]), ["7", "-20", "0"]),
    (pd.Series([150000.0, None, 3.0]), ["150000", None, "3"]),
    (pd.Series([1.5, None, -0.25]), ["1.5", None, "-0.25"]),
    (pd.Series([5, None], dtype="Int64"), ["5", None]),
    (pd.Series([5.0, None], dtype="Float64"), ["5", None]),
    (pd.Series([np.inf, 2.0]), ["inf", "2"]),
    (pd.Series([Decimal("1.50"), None]), ["1.50", None]),
    (pd.Series([date(2026, 11, 28), None]), ["2026-11-28", None]),
    (pd.Series([datetime(2026, 11, 28), None]), ["2026-11-28", None]),
    (pd.Series([datetime(2026, 11, 28, 9, 5, 7), None]), ["2026-11-28 09:05", None]),
])
def test_numbers_and_dates_become_text_without_the_text_clean_up(values: pd.Series, expected: list) -> None:
    # Arrow's text of a number or a date is ASCII and never blank: trimming, NFC and blanks → missing
    # (what a text column goes through) would change nothing, so they are skipped.
    from vbotflow.campaigns.transform import _text

    text = _text(values)
    assert [None if pd.isna(v) else v for v in text.tolist()] == expected
    assert str(text.dtype) == str(_text(pd.Series(["a"])).dtype)
    cleaned = _text(text.astype(object))  # the same values as text: through the clean-up
    assert [None if pd.isna(v) else v for v in cleaned.tolist()] == expected


@pytest.mark.parametrize(("values", "expected"), [
    (pd.Series([1, 0, 2, -1]), [True, False, False, False]),
    (pd.Series([1, None, 0], dtype="Int64"), [True, False, False]),
    (pd.Series(["1", " yes ", "0", None]), [True, True, False, False]),
])
def test_do_not_call_flags_of_integers_read_like_their_text(values: pd.Series, expected: list[bool]) -> None:
    from vbotflow.campaigns.transform import _as_bool

    assert _as_bool(values).tolist() == expected
    assert _as_bool(values.astype("string")).tolist() == expected


def test_every_duplicate_names_the_contact_its_number_kept(config) -> None:
    # Duplicates of one kept contact share its text; each number's duplicates name their own.
    day = datetime(2026, 11, 1)
    raw = _rows((1, "A", "0912345678", 0, day, 1.0, None),
                (2, "B", "0912 345 678", 0, datetime(2026, 11, 2), 1.0, None),
                (3, "C", "0987654321", 0, day, 1.0, None), (4, "D", "+84912345678", 0, day, 1.0, None),
                (5, "E", "0987 654 321", 0, datetime(2026, 11, 3), 1.0, None),
                (6, "F", "0912345678", 0, day, 1.0, None))
    result = transform(raw, config)
    assert result.rejected[["crm_contact_id", "reject_reason", "reject_detail"]].values.tolist() == [
        ["1", "duplicate", "kept CRM contact 2"], ["3", "duplicate", "kept CRM contact 5"],
        ["4", "duplicate", "kept CRM contact 2"], ["6", "duplicate", "kept CRM contact 2"]]
    assert result.accepted["crm_contact_id"].tolist() == ["2", "5"]


@pytest.mark.parametrize(("values", "whole"), [
    ([150000.0, np.nan, -3.0, -0.0], True), ([1.5, 2.0], False), ([np.inf, 1.0], False),
    ([np.nan, np.nan], True), ([], True)])
def test_a_float_column_is_whole_as_pandas_says(values: list[float], whole: bool) -> None:
    from vbotflow.campaigns.transform import _whole

    series = pd.Series(values, dtype=float)
    assert _whole(series.to_numpy()) is whole is bool((series.dropna() % 1 == 0).all())


def test_blank_texts_become_missing_values() -> None:
    from vbotflow.campaigns.arrow_text import blank_as_missing

    text = pa.array(["An", "", None, "Bình", ""], pa.large_string())
    for array in (text, text.slice(1, 3), pa.array([], pa.large_string()), pa.nulls(2, pa.large_string())):
        expected = [None if not v else v for v in array.to_pylist()]
        missing = blank_as_missing(array)
        assert missing.to_pylist() == expected and missing.null_count == expected.count(None)
        assert missing.equals(pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.large_string()), array))


def test_the_transform_allocates_from_malloc_and_gives_the_allocator_back(config) -> None:
    raw = _rows((1, "An", "0912345678", 0, datetime(2026, 11, 1), 1.0, date(2026, 11, 28)))
    before = pa.default_memory_pool()
    held = pa.system_memory_pool().bytes_allocated()
    result = transform(raw, config)
    assert pa.default_memory_pool().backend_name == before.backend_name
    assert pa.system_memory_pool().bytes_allocated() > held  # the result's Arrow buffers came from malloc
    assert result.accepted["phone"].tolist() == ["0912345678"]
    with pytest.raises(ExtractError):
        transform(raw.drop(columns="phone"), config)
    assert pa.default_memory_pool().backend_name == before.backend_name  # also after an error
