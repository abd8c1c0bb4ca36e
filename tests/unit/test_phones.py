"""Vietnamese phone numbers: the spellings real CRM exports hold, each with its exact decision, and
the column-wise fast path held to the per-value reference over anything a column can hold."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vbotflow.campaigns.phones import normalise_phone_slow, normalise_phones
from vbotflow.phone import kind_runs
from vbotflow.phone.kinds import MOBILE, derive_runs, kind_of, national_kind
from vbotflow.phone.reference import decide_phone, numbers_in_cell
from vbotflow.phone.rules import (
    FOREIGN_NUMBER,
    INVALID_PHONE,
    MISSING_PHONE,
    NOT_MOBILE,
    OLD_TO_NEW_PREFIX,
    PHONE_WITH_NOTE,
    SEPARATORS,
    SEVERAL_NUMBERS,
    UnreadablePhone,
    country_codes,
    dial_digits,
    domestic_form,
)

# (what the CRM cell holds, the number sent to VBot or None, the reject reason or None)
SPELLINGS = [
    # plain and punctuated
    ("0912345678", "0912345678", None),
    ("0912 345 678", "0912345678", None),
    ("  0912.345.678  ", "0912345678", None),
    ("091-234-5678", "0912345678", None),
    ("(091) 234 5678", "0912345678", None),
    ("091/234/5678", "0912345678", None),
    ("0912,345,678", "0912345678", None),  # thousands separators of a number formatted in Excel
    ("[0912] 345 678", "0912345678", None),
    # Unicode spaces (Zs), invisible characters and dash variants, as copy-paste brings them
    ("0912\u00a0345\u00a0678", "0912345678", None),  # no-break space: Excel, web pages
    ("0912\u202f345\u202f678", "0912345678", None),  # narrow no-break space
    ("0912\u2009345\u2009678", "0912345678", None),  # thin space
    ("0912\u3000345\u3000678", "0912345678", None),  # ideographic space
    ("\u00a00912345678\u00a0", "0912345678", None),
    ("091\u200b2345678", "0912345678", None),  # zero-width space
    ("091\u200c2345\u200d678", "0912345678", None),  # zero-width non-joiner / joiner
    ("\ufeff0912345678", "0912345678", None),  # a byte-order mark left at the start of a CSV field
    ("0912\u2060345678", "0912345678", None),  # word joiner
    ("\u202a+84 91 234 5678\u202c", "0912345678", None),  # bidi marks of a number copied from a phone app
    ("0912\u00ad345678", "0912345678", None),  # soft hyphen
    ("091\u20102345678", "0912345678", None),  # hyphen
    ("091\u20112345678", "0912345678", None),  # non-breaking hyphen
    ("091\u2013234\u20135678", "0912345678", None),  # en dash
    ("091\u2014234\u20145678", "0912345678", None),  # em dash
    ("091\u22122345678", "0912345678", None),  # minus sign
    ("091\uff0d234\uff0d5678", "0912345678", None),  # full-width hyphen-minus
    # country code, international prefix, trunk zero
    ("+84912345678", "0912345678", None),
    ("+84 91 234 5678", "0912345678", None),
    ("(+84) 912 345 678", "0912345678", None),
    ("84912345678", "0912345678", None),
    ("0084912345678", "0912345678", None),
    ("0084 91 234 5678", "0912345678", None),
    ("+84 0912345678", "0912345678", None),  # a trunk zero after the country code
    ("840912345678", "0912345678", None),
    ("\uff0b84912345678", "0912345678", None),  # full-width plus
    # a lost leading zero (a spreadsheet made it a number)
    ("912345678", "0912345678", None),
    ("842345678", "0842345678", None),  # the lost zero of an 084 number, not a country code
    # the 2018 change of 11-digit numbers, in every spelling
    ("01689123456", "0389123456", None),
    ("0162 123 4567", "0321234567", None),
    ("+84 1689123456", "0389123456", None),
    ("841689123456", "0389123456", None),
    ("1689123456", "0389123456", None),
    ("+84 0124 099 1978", "0840991978", None),  # country code, trunk zero and an old number: 13 digits
    ("(+84) 01228958641", "0778958641", None),
    ("84 01991725383", "0591725383", None),
    ("0084 0168 912 3456", "0389123456", None),
    ("0120 123 4567", "0701234567", None),
    ("01211234567", "0791234567", None),
    ("01221234567", "0771234567", None),
    ("01261234567", "0761234567", None),
    ("01281234567", "0781234567", None),
    ("0123 456 7890", "0834567890", None),
    ("01241234567", "0841234567", None),
    ("01251234567", "0851234567", None),
    ("01271234567", "0811234567", None),
    ("01291234567", "0821234567", None),
    ("0186 123 4567", "0561234567", None),
    ("01881234567", "0581234567", None),
    ("0199 123 4567", "0591234567", None),
    ("0561234567", "0561234567", None),
    # ambiguous cells, each with a deliberate decision
    ("'0912345678", "0912345678", None),  # Excel's text marker
    ("\u20190912 345 678", "0912345678", None),  # the same after a word processor
    ("''0912345678", "0912345678", PHONE_WITH_NOTE),  # only one apostrophe is Excel's
    ("\uff10\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", "0912345678", None),  # full-width digits
    ("\u0660\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "0912345678", None),  # Arabic-Indic digits
    ("09\uff11\uff12 345 678", "0912345678", None),  # mixed scripts
    ("9.12345678E8", "0912345678", None),  # scientific notation with every digit written
    ("9.12345678E+08", "0912345678", None),
    ("9,12345678E+08", "0912345678", None),  # a decimal comma
    ("8.4912345678e10", "0912345678", None),
    ("9.12346E+08", None, INVALID_PHONE),  # rounded by the spreadsheet: 912346000 is someone else
    ("9E8", None, INVALID_PHONE),
    ("9.12345678E-8", None, INVALID_PHONE),
    ("9.123456785E8", None, INVALID_PHONE),  # not a whole number
    ("912345678.0", "0912345678", None),  # a float's text
    ("912345678.00", "0912345678", None),  # NUMERIC(…, 2) as text
    ("912345678,0", "0912345678", None),
    ("84912345678.0", "0912345678", None),
    ("0912345678 (Zalo)", "0912345678", PHONE_WITH_NOTE),  # a note: read for do-not-call, not called
    ("Anh Nam 0912345678", "0912345678", PHONE_WITH_NOTE),
    ("ĐT: +84 912 345 678", "0912345678", PHONE_WITH_NOTE),
    ("0912345678 ext 12", "0912345678", PHONE_WITH_NOTE),
    ("0912345678 gọi sau 17h", "0912345678", PHONE_WITH_NOTE),
    ("#0912345678", "0912345678", PHONE_WITH_NOTE),
    ("0912345678'", "0912345678", PHONE_WITH_NOTE),
    ("Tel: 028 3822 1234", None, NOT_MOBILE),  # a note around a landline: the landline decides
    ("0912345678 / 0987654321", None, SEVERAL_NUMBERS),
    ("0912345678, 0987654321", None, SEVERAL_NUMBERS),
    ("0912345678;0987654321", None, SEVERAL_NUMBERS),
    ("0912345678\n0987654321", None, SEVERAL_NUMBERS),
    ("0912 345 678 - 0987 654 321", None, SEVERAL_NUMBERS),
    ("09123456780987654321", None, SEVERAL_NUMBERS),
    ("0912 345 678 hoặc 0987 654 321", None, SEVERAL_NUMBERS),
    ("Nhà 028 3822 1234, DĐ 0912345678", None, SEVERAL_NUMBERS),
    ("0912345678/79", None, INVALID_PHONE),  # two numbers sharing digits: neither is guessed
    # other countries
    ("+912345678", None, FOREIGN_NUMBER),  # India (+91), not a Vietnamese mobile without its zero
    ("+1 415 555 2671", None, FOREIGN_NUMBER),
    ("+65 6123 4567", None, FOREIGN_NUMBER),
    ("0065 6123 4567", None, FOREIGN_NUMBER),  # 00: the international prefix
    ("00912345678", None, FOREIGN_NUMBER),
    ("+0912345678", None, INVALID_PHONE),  # no country code starts with 0
    ("0080100000", None, INVALID_PHONE),  # 00 then 80: no such country code
    ("0912+345678", None, INVALID_PHONE),
    ("++84912345678", None, INVALID_PHONE),
    # valid numbers that are not mobiles; and numbers that are not numbers
    ("028 3822 1234", None, NOT_MOBILE),  # Ho Chi Minh City landline
    ("024 3822 1234", None, NOT_MOBILE),  # Hà Nội landline
    ("(0236) 382 1234", None, NOT_MOBILE),  # Đà Nẵng landline
    ("2838221234", None, NOT_MOBILE),  # a landline that lost its zero
    ("+84 28 3822 1234", None, NOT_MOBILE),
    ("1900 1234", None, NOT_MOBILE),  # premium rate
    ("1800 1091", None, NOT_MOBILE),  # toll free
    ("0672 123 456", None, NOT_MOBILE),  # VoIP
    ("0241234567", None, INVALID_PHONE),  # a landline with the digits of before 2017
    ("0112345678", None, INVALID_PHONE),
    ("0212345678", None, INVALID_PHONE),
    ("01301234567", None, INVALID_PHONE),  # 11 digits with no 2018 mapping
    ("09123", None, INVALID_PHONE),
    ("091234567890", None, INVALID_PHONE),
    ("0912-34", None, INVALID_PHONE),
    ("0000000000", None, INVALID_PHONE),
    ("0912abc678", None, INVALID_PHONE),  # letters inside: no complete number between them
    ("không có", None, INVALID_PHONE),
    ("N/A", None, INVALID_PHONE),
    ("0912*345*678", None, INVALID_PHONE),
    # nothing there
    ("", None, MISSING_PHONE),
    ("   ", None, MISSING_PHONE),
    ("\u00a0\u200b", None, MISSING_PHONE),
    ("-", None, MISSING_PHONE),
    ("'", None, MISSING_PHONE),
    (None, None, MISSING_PHONE),
]

# Phone columns typed as numbers: INTEGER with a NULL (float64 in pandas), REAL, NUMERIC (Decimal).
NUMBERS = [
    (912345678, "0912345678", None),
    (912345678.0, "0912345678", None),
    (np.float64(912345678.0), "0912345678", None),
    (9.12345678e8, "0912345678", None),
    (Decimal("912345678"), "0912345678", None),
    (Decimal("912345678.00"), "0912345678", None),
    (Decimal("9.12345678E+8"), "0912345678", None),
    (84912345678, "0912345678", None),
    (84912345678.0, "0912345678", None),
    (1689123456, "0389123456", None),
    (1689123456.0, "0389123456", None),
    (2838221234, None, NOT_MOBILE),
    (912345678.5, None, INVALID_PHONE),
    (Decimal("912345678.5"), None, INVALID_PHONE),
    (-912345678, None, INVALID_PHONE),
    (10**15, None, INVALID_PHONE),
    (1e20, None, INVALID_PHONE),
    (math.inf, None, INVALID_PHONE),
    (Decimal("Infinity"), None, INVALID_PHONE),
    (0, None, INVALID_PHONE),
    (True, None, INVALID_PHONE),
    (math.nan, None, MISSING_PHONE),
    (Decimal("NaN"), None, MISSING_PHONE),
    (pd.NA, None, MISSING_PHONE),
    (pd.NaT, None, MISSING_PHONE),
]


def _fast(values: list, dtype: object = object) -> list[tuple]:
    out = normalise_phones(pd.Series(values, dtype=dtype))
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in out[["phone", "reject_reason", "reject_detail"]].itertuples(index=False)]


def _reference(values: list) -> list[tuple]:
    return [(d.phone, d.reason, d.detail) for d in map(decide_phone, values)]


@pytest.mark.parametrize(("raw", "phone", "reason"), SPELLINGS + NUMBERS)
def test_real_world_spellings(raw, phone, reason) -> None:
    assert normalise_phone_slow(raw) == (phone, reason)
    assert [row[:2] for row in _fast([raw])] == [(phone, reason)]


def test_numeric_columns_keep_their_digits() -> None:
    # An INTEGER column with one NULL arrives as float64: every number must still be read.
    column = pd.Series([912345678, None, 84912345678, 1689123456]).astype("float64")
    assert column.dtype == "float64"
    assert [r[:2] for r in _fast(column.tolist(), "float64")] == [
        ("0912345678", None), (None, MISSING_PHONE), ("0912345678", None), ("0389123456", None)]
    for dtype in ("Int64", "int64", "Float64", "object"):
        assert [r[:2] for r in _fast([912345678, 84912345678], dtype)] == [("0912345678", None)] * 2, dtype


def test_details_say_why_without_the_number() -> None:
    cells = ["+912345678", "028 3822 1234", "9.12346E+08", "0912345678 / 0987654321", "0912345678 (Zalo)",
             912345678.5, "0912+345678", "không có", None]
    details = [row[2] for row in _fast(cells)]
    assert details == [
        "a number of another country (+91)",
        "a valid Vietnamese landline number, not a mobile (phonenumbers)",
        "scientific notation with digits lost (the spreadsheet rounded the number)",
        "two or more numbers in one cell",
        "words or symbols besides the number in the phone cell",
        "a number that cannot be a phone number (negative, with a fraction, or too large)",
        "a + that does not start the number",
        "text without a complete phone number",
        "no phone number",
    ]
    assert not any(d and any(ch.isdigit() for ch in d.replace("+91", "")) for d in details)


def test_every_accepted_number_is_a_valid_vn_mobile_for_phonenumbers() -> None:
    nationals = [new + "1234567" for new in OLD_TO_NEW_PREFIX.values()] + ["912345678", "387654321"]
    out = normalise_phones(pd.Series(["0" + n for n in nationals]))
    assert out["reject_reason"].isna().all()
    for phone in out["phone"]:
        number = phonenumbers.parse(phone, "VN")
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


# --- the fast path against the reference -----------------------------------------------------------

_DIGITS = "0123456789"
_OTHER_DIGITS = "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\u0660\u0661\u0969\u09e7"
_PIECES = st.sampled_from(
    ["+", "+84", "84", "0084", "00", "(+84)", "+84 0", "0", "01", "016", "'", "\u2019", "\uff0b", "E", "e+0",
     ".0", ",00", "Zalo", " hoặc ", "ĐT:", "ext", "#", "*", ",", ";", "/", "\n", "\u00a0", "\u200b", "\u2013",
     "\u2212", "\ufeff", "\u202a", "(", ")", "9.", "8.4"])
_SEPARATOR = st.sampled_from(SEPARATORS)


@st.composite
def phone_like(draw) -> str:
    """Text near the edge: digit runs (some of other scripts), separators, prefixes, notes, notations."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            parts.append(draw(st.text(alphabet=_DIGITS, min_size=1, max_size=12)))
        elif choice == 1:
            parts.append(draw(st.text(alphabet=_DIGITS + _OTHER_DIGITS, min_size=1, max_size=10)))
        elif choice == 2:
            parts.append(draw(_SEPARATOR))
        else:
            parts.append(draw(_PIECES))
    return "".join(parts)


@st.composite
def scientific(draw) -> str:
    digits = draw(st.text(alphabet=_DIGITS, min_size=0, max_size=12))
    return (draw(st.sampled_from("123456789")) + draw(st.sampled_from([".", ","])) + digits
            + draw(st.sampled_from(["E", "e", "E+", "E-", "e+0"])) + str(draw(st.integers(0, 14))))


_numbers = st.one_of(
    st.integers(min_value=-10, max_value=10**16),
    st.integers(min_value=100_000_000, max_value=999_999_999),
    st.integers(min_value=84_000_000_000, max_value=84_999_999_999),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=10**14).map(float),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=10**14).map(lambda n: Decimal(n).scaleb(-2) * 100),
)
_any_value = st.one_of(st.none(), st.booleans(), st.text(), phone_like(), scientific(), _numbers,
                       st.just(pd.NA), st.just(math.nan))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(), phone_like(), scientific()), min_size=1, max_size=30))
@example(["0912 345 678\u180e"])  # U+180E is no longer a space: a note, in both paths
@example(["\u00850912345678"])
def test_fast_path_equals_the_reference_on_any_text(values: list[str]) -> None:
    expected = _reference(values)
    assert _fast(values) == expected
    assert _fast(values, "string[pyarrow]") == expected
    assert _fast(values, "str") == expected


@settings(max_examples=500, deadline=None)
@given(st.lists(_any_value, min_size=1, max_size=30))
def test_fast_path_equals_the_reference_on_mixed_columns(values: list) -> None:
    assert _fast(values) == _reference(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(0, 10**14).map(float)), min_size=1, max_size=30))
def test_fast_path_equals_the_reference_on_float_columns(values: list) -> None:
    assert _fast(values, "float64") == _reference(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), min_size=1, max_size=30))
def test_fast_path_equals_the_reference_on_integer_columns(values: list[int]) -> None:
    assert _fast(values, "int64") == _reference(values)
    assert _fast([*values, None], "Int64") == _reference([*values, None])


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.text(alphabet=_DIGITS, min_size=n, max_size=n)))
@example("121012345")  # 121[0-3] + 5 digits: a mobile pattern fixed by four digits
@example("2838221234")
def test_the_kind_of_a_national_number_depends_on_its_first_four_digits_and_length(national: str) -> None:
    # What lets the fast path ask phonenumbers once per (prefix, length) instead of once per row.
    number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    oracle = None if national.startswith("0") else kind_of(number)
    assert national_kind(national[:4], len(national)) == oracle
    assert (kind_of(number) is not None) == phonenumbers.is_valid_number_for_region(number, "VN")


def test_no_space_or_digit_lies_beyond_the_scanned_unicode_range() -> None:
    import sys
    import unicodedata

    from vbotflow.phone.rules import UNICODE_SCAN_END

    assert not [hex(c) for c in range(UNICODE_SCAN_END, sys.maxunicode + 1)
                if unicodedata.category(chr(c)) in ("Zs", "Nd")]


def test_country_codes_are_prefix_free() -> None:
    codes = country_codes()
    assert "84" in codes and "91" in codes and "1" in codes
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]


# --- one semantics for the receiver and reconciliation ---------------------------------------------


@settings(max_examples=800, deadline=None)
@given(st.one_of(phone_like(), st.sampled_from([s for s, _, _ in SPELLINGS if s])))
def test_the_receiver_and_reconciliation_read_a_number_as_the_list_does(text: str) -> None:
    decision = decide_phone(text)
    try:
        joined = domestic_form(dial_digits(text))
    except UnreadablePhone as err:  # a rounded 9.12346E+08: the receiver dead-letters it
        assert (decision.reason, decision.detail) == (INVALID_PHONE, str(err))
        return
    if decision.reason in (None, PHONE_WITH_NOTE):
        assert joined == decision.phone
    elif decision.reason == FOREIGN_NUMBER:
        assert joined.startswith(("+", "00")) and not joined.startswith(("+84", "0084"))


@pytest.mark.parametrize(("text", "dialled", "domestic"), [
    ("0912 345 678", "0912345678", "0912345678"),
    ("+84 912.345.678", "+84912345678", "0912345678"),
    ("84912345678", "84912345678", "0912345678"),
    ("0084912345678", "0084912345678", "0912345678"),
    ("912345678", "912345678", "0912345678"),
    ("+84 0124 099 1978", "+8401240991978", "0840991978"),
    ("01689123456", "01689123456", "0389123456"),
    ("028 3822 1234", "02838221234", "02838221234"),
    ("\uff10\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", "0912345678", "0912345678"),
    ("+912345678", "+912345678", "+912345678"),  # India stays India: it matches no contact
    ("00912345678", "00912345678", "00912345678"),
    ("0912+345678", "0912345678", "0912345678"),  # the receiver keeps digits; the list rejects this
    ("12345", "12345", "12345"),
])
def test_dial_digits_and_domestic_form(text: str, dialled: str, domestic: str) -> None:
    assert dial_digits(text) == dialled
    assert domestic_form(dialled) == domestic


def test_the_receiver_cannot_read_a_rounded_number() -> None:
    with pytest.raises(UnreadablePhone, match=r"^scientific notation with digits lost"):
        dial_digits("9.12346E+08")
    assert dial_digits("9.12345678E+08") == "912345678"
    assert dial_digits("912345678.0") == "912345678"
    assert dial_digits("'0912345678") == "0912345678"


# --- do-not-call reads every number a cell names ----------------------------------------------------


@pytest.mark.parametrize(("cell", "numbers"), [
    ("0912 345 678", ["0912345678"]),
    ("0912345678 (Zalo)", ["0912345678"]),
    ("0912345678 / 0987654321", ["0912345678", "0987654321"]),
    ("0912 345 678 hoặc 01689 123 456", ["0912345678", "0389123456"]),
    ("09123456780987654321", ["0912345678", "0987654321"]),
    ("Nhà 028 3822 1234, DĐ 0912345678", ["0912345678"]),
    (912345678.0, ["0912345678"]),
    ("+912345678", []),
    ("028 3822 1234", []),
    ("không có", []),
    (None, []),
])
def test_numbers_in_a_cell(cell: object, numbers: list[str]) -> None:
    assert numbers_in_cell(cell) == numbers


def test_the_kind_words_come_from_phonenumbers() -> None:
    assert national_kind("9123", 9) == MOBILE
    assert national_kind("2838", 10) == "landline"
    assert national_kind("1900", 8) == "premium-rate"
    assert national_kind("0912", 9) is None


def test_the_stored_kinds_are_the_pinned_phonenumbers_answers() -> None:
    assert kind_runs.PHONENUMBERS_VERSION == phonenumbers.__version__, "run: python -m vbotflow.phone.kinds"
    assert kind_runs.RUNS == derive_runs()


def test_the_non_ascii_digits_are_every_decimal_digit_of_unicode() -> None:
    # The regex scan that finds them must agree with unicodedata's category, code point by code point.
    import unicodedata

    from vbotflow.phone.rules import UNICODE_SCAN_END, _digit_values

    expected = {chr(c): str(unicodedata.decimal(chr(c))) for c in range(0x80, UNICODE_SCAN_END)
                if unicodedata.category(chr(c)) == "Nd"}
    assert _digit_values() == expected
    assert _digit_values()["\uff19"] == "9" and _digit_values()["\u0663"] == "3"


def test_missing_values_read_as_empty_text_without_a_copy() -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from vbotflow.campaigns.arrow_text import blank_for_null

    text = pa.array(["0912", None, "", "+84 9", None], pa.large_string())
    for array in (text, text.slice(1, 3), pa.array(["x", None], pa.string()), pa.nulls(3, pa.large_string()),
                  pa.array([], pa.large_string())):
        blank = blank_for_null(array)
        assert blank.type == pa.large_string() and blank.null_count == 0
        assert blank.to_pylist() == pc.fill_null(array, "").to_pylist()
    assert blank_for_null(text).buffers()[2].address == text.buffers()[2].address  # no copy
    # A null that still holds bytes (Arrow allows it) must not show them.
    offsets = pa.py_buffer(np.array([0, 2, 5], dtype=np.int64))
    validity = pa.py_buffer(np.packbits([True, False], bitorder="little"))
    hidden = pa.LargeStringArray.from_buffers(2, offsets, pa.py_buffer(b"09abc"), validity, 1)
    assert hidden.to_pylist() == ["09", None]
    assert blank_for_null(hidden).to_pylist() == ["09", ""]
