"""A CRM's phone column → the Vietnamese mobile each cell names (``0xxxxxxxxx``), or why not.

Grain: one row in, one row out (same index). The rules are ``vbotflow.phone.rules`` — what a
digit, a separator, a country code and a trunk zero are — and the README's cleaning-rules table
says them in words. This module applies them to a whole column with Arrow compute kernels, with
no Python per row except for cells that are neither text nor plain numbers (a column mixing
types, Decimals). ``vbotflow.phone.reference.decide_phone`` makes the same decision one value at a
time, asking ``phonenumbers`` every time; a differential property test holds the two to the same
(phone, reason, detail) for any value, and the benchmark compares them on a million rows.
Validity comes from ``phonenumbers`` too, asked once per distinct (first four digits, length).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vbotflow.phone.kinds import MOBILE, national_kind
from vbotflow.phone.reference import cell_text
from vbotflow.phone.reference import normalise_phone_slow as normalise_phone_slow
from vbotflow.phone.rules import (
    APOSTROPHES,
    COMPLETE_DIGITS,
    COUNTRY_CODE,
    FOREIGN_DETAIL,
    FOREIGN_NUMBER,
    INTERNATIONAL_PREFIX,
    INVALID_PHONE,
    MAX_NUMERIC_PHONE,
    MISPLACED_PLUS,
    MISSING_PHONE,
    NATIONAL_LENGTHS,
    NO_COMPLETE_NUMBER,
    NO_PHONE,
    NO_SUCH_COUNTRY,
    NOT_A_WHOLE_NUMBER,
    NOT_MOBILE,
    NOT_MOBILE_DETAIL,
    NOT_VIETNAMESE,
    OLD_NATIONAL_LENGTH,
    OLD_TO_NEW_PREFIX,
    PHONE_WITH_NOTE,
    ROUNDED_SCIENTIFIC,
    SEPARATORS,
    SEVERAL,
    SEVERAL_DIGITS,
    SEVERAL_NUMBERS,
    TRUNK_PREFIX,
    WITH_NOTE,
    country_codes,
    non_ascii_digits,
    re2_class,
)

__all__ = ["normalise_phones", "normalise_phone_slow"]

_STRING = pa.large_string()
_SEP = re2_class(SEPARATORS)[1:-1]  # the class's inside, to combine with other characters
_NOT_PHONE_CHAR = f"[^0-9+{_SEP}]"
_COMPLETE_SPAN = f"(?:[+{_SEP}]*[0-9]){{{COMPLETE_DIGITS}}}[0-9+{_SEP}]*"
_LEADING_APOSTROPHE = f"^{re2_class(APOSTROPHES)}[{_SEP}]*"
_SCIENTIFIC = r"^(?P<first>[1-9])(?:[.,](?P<fraction>[0-9]*))?[eE](?P<sign>[+-]?)(?P<exponent>[0-9]{1,3})$"
_FLOAT_TEXT = r"^([0-9]+)[.,]00?$"
_FLOAT_ENDINGS = (".0", ".00", ",0", ",00")
_PLUS_FIRST = r"^[^0-9+]*\+[^+]*$"


def normalise_phones(raw: pd.Series) -> pd.DataFrame:
    """Decide a column of raw phone values (text, numbers, NULLs, or a mix).

    Returns a frame on the same index: ``phone`` (the mobile the cell names, ``0xxxxxxxxx``; also
    set for ``phone_with_note`` rows, so that do-not-call covers them), ``reject_reason`` and
    ``reject_detail`` (missing where the phone is accepted), ``raw_text`` (the cell as text).
    """
    text, problem, raw_text = _cells(raw)
    phone, reason, detail = _decide(text, problem)
    return pd.DataFrame({
        "phone": _to_pandas(phone, raw.index),
        "reject_reason": _to_pandas(reason, raw.index),
        "reject_detail": _to_pandas(detail, raw.index),
        "raw_text": _to_pandas(raw_text, raw.index),
    }, index=raw.index)


# --- cells → text ----------------------------------------------------------------------------------


def arrow_array(values: pd.Series) -> pa.Array:
    """A pandas column as one Arrow array, through public APIs (zero-copy where pandas holds Arrow)."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        array = pa.array(values.array)  # the array's __arrow_array__ (Arrow-backed strings: no copy)
    else:
        array = pa.Array.from_pandas(values)  # numpy: NaN becomes null
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _cells(values: pd.Series) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(text to read, a reason the value cannot be a phone, the cell as text) for every row."""
    if values.dtype == object:
        try:
            array = pa.array(values.to_numpy(dtype=object), from_pandas=True)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            array = None
        if array is None or not (pa.types.is_large_string(array.type) or pa.types.is_string(array.type)
                                 or pa.types.is_null(array.type)):
            return _cells_one_by_one(values.tolist())
    else:
        array = arrow_array(values)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    none = pa.nulls(len(array), _STRING)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        text = array.cast(_STRING)
        return text, none, text
    if pa.types.is_null(kind):
        return none, none, none
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if pa.types.is_floating(kind):
            array = pc.if_else(pc.is_nan(array), pa.scalar(None, kind), array)  # NaN is a missing value
            whole = pc.and_(pc.is_finite(array), pc.equal(pc.floor(array), array))
        else:
            whole = pc.is_valid(array)
        whole = pc.and_(whole, pc.and_(pc.greater_equal(array, 0), pc.less(array, MAX_NUMERIC_PHONE)))
        whole = pc.fill_null(whole, False)
        integers = pc.cast(pc.if_else(whole, array, pa.scalar(None, kind)), pa.int64())
        text = pc.cast(integers, _STRING)
        problem = pc.if_else(pc.and_(pc.is_valid(array), pc.invert(whole)),
                             pa.scalar(NOT_A_WHOLE_NUMBER, _STRING), none)
        return text, problem, pc.coalesce(text, pc.cast(array, _STRING))
    return _cells_one_by_one(array.to_pylist())  # Decimals, booleans, dates, bytes: value by value


def _cells_one_by_one(values: list) -> tuple[pa.Array, pa.Array, pa.Array]:
    texts, problems, shown = [], [], []
    for value in values:
        text, problem = cell_text(value)
        texts.append(text)
        problems.append(None if problem == NO_PHONE else problem)
        shown.append(text if text is not None or problem == NO_PHONE else str(value))
    return pa.array(texts, _STRING), pa.array(problems, _STRING), pa.array(shown, _STRING)


# --- text → decision -------------------------------------------------------------------------------


def _on(mask: pa.Array, values: pa.Array, compute, *defaults: pa.Array) -> tuple[pa.Array, ...]:
    """``compute`` on the rows where ``mask`` holds only (the rare cells), merged into ``defaults``."""
    if not pc.any(mask).as_py():
        return defaults
    results = compute(values.filter(mask))
    return tuple(pc.replace_with_mask(default, mask, result.cast(default.type))
                 for default, result in zip(defaults, results, strict=True))


def _fold_digits(text: pa.Array) -> pa.Array:
    """Digits of other scripts → ASCII, full-width ＋ → +."""
    for value in range(10):
        text = pc.replace_substring_regex(text, re2_class(non_ascii_digits(value)), str(value))
    return pc.replace_substring(text, "\uff0b", "+")


def _unusual(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Cells with characters besides digits, + and separators: other scripts' digits folded,
    Excel's leading apostrophe dropped, scientific notation read when every digit is written."""
    text = pc.replace_substring_regex(_fold_digits(text), _LEADING_APOSTROPHE, "", max_replacements=1)
    parts = pc.extract_regex(text, _SCIENTIFIC)
    matched = pc.is_valid(parts)
    fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
    exponent = pc.cast(pc.fill_null(pc.struct_field(parts, "exponent"), "0"), pa.int32())
    negative = pc.fill_null(pc.equal(pc.struct_field(parts, "sign"), "-"), False)
    written = pc.utf8_length(fraction).cast(pa.int32())
    exact = pc.and_(matched, pc.and_(pc.invert(negative), pc.equal(exponent, written)))
    rounded = pc.and_(matched, pc.and_(pc.invert(negative), pc.greater(exponent, written)))
    digits = _join(pc.struct_field(parts, "first"), fraction)
    text = pc.if_else(exact, digits, text)
    problem = pc.case_when(pc.make_struct(rounded, pc.and_(matched, pc.invert(exact))),
                           pa.scalar(ROUNDED_SCIENTIFIC, _STRING), pa.scalar(NOT_A_WHOLE_NUMBER, _STRING))
    return text, problem


def _note_spans(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A cell with a note: how many complete numbers (9+ digits) stand between its words, and the first."""
    count = pc.count_substring_regex(text, _COMPLETE_SPAN)
    first = pc.struct_field(pc.extract_regex(text, f"(?P<span>{_COMPLETE_SPAN})"), "span")
    return count, pc.utf8_trim(pc.fill_null(first, ""), SEPARATORS)


def _foreign_codes(digits: pa.Array) -> tuple[pa.Array]:
    """The country code in use that the digits after + or 00 start with (codes are prefix-free)."""
    codes = country_codes()
    heads, found = [], []
    for n in (1, 2, 3):
        heads.append(pc.utf8_slice_codeunits(digits, 0, n))
        in_use = pa.array(sorted(code for code in codes if len(code) == n), _STRING)
        found.append(pc.fill_null(pc.is_in(heads[-1], value_set=in_use), False))
    return (pc.case_when(pc.make_struct(*found), *heads),)


def _decide(text: pa.Array, problem: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    rows = len(text)
    false = pa.array(np.zeros(rows, dtype=bool))
    text = pc.utf8_trim(pc.fill_null(text, ""), SEPARATORS)

    unusual = pc.match_substring_regex(text, _NOT_PHONE_CHAR)
    text, unusual_problem = _on(unusual, text, _unusual, text, pa.nulls(rows, _STRING))
    problem = pc.coalesce(problem, unusual_problem)
    # Digits written by a float's text: 912345678.0 is the number 912345678, not ten digits.
    ends = [pc.ends_with(text, ending) for ending in _FLOAT_ENDINGS]
    float_text = pc.or_(pc.or_(ends[0], ends[1]), pc.or_(ends[2], ends[3]))
    (text,) = _on(float_text, text, lambda t: (pc.replace_substring_regex(t, _FLOAT_TEXT, r"\1"),), text)

    (note,) = _on(unusual, text, lambda t: (pc.match_substring_regex(t, _NOT_PHONE_CHAR),), false)
    # The number: the whole cell, or the complete number between a note's words.
    span_count, number = _on(note, text, _note_spans, pa.array(np.ones(rows, dtype=np.int32)), text)

    digits = pc.replace_substring_regex(number, "[^0-9]", "")
    digit_count = pc.utf8_length(digits)
    has_plus = pc.match_substring(number, "+")
    (plus_first,) = _on(has_plus, number, lambda t: (pc.match_substring_regex(t, _PLUS_FIRST),), false)

    # The country code: + or 00, then a code; 84 written without either at whole-number lengths.
    international = pc.or_(has_plus, pc.starts_with(digits, INTERNATIONAL_PREFIX))
    after_prefix = pc.if_else(has_plus, digits, pc.utf8_slice_codeunits(digits, len(INTERNATIONAL_PREFIX)))
    vietnam = pc.and_(international, pc.starts_with(after_prefix, COUNTRY_CODE))
    abroad = pc.and_(international, pc.invert(vietnam))
    (foreign,) = _on(abroad, after_prefix, _foreign_codes, pa.nulls(rows, _STRING))
    written_84 = pc.and_(pc.and_(pc.invert(international), pc.starts_with(digits, COUNTRY_CODE)),
                         pc.is_in(digit_count, pa.array([11, 12, 13], digit_count.type)))
    national = pc.case_when(
        pc.make_struct(vietnam, written_84),
        pc.utf8_slice_codeunits(after_prefix, len(COUNTRY_CODE)), pc.utf8_slice_codeunits(digits, len(COUNTRY_CODE)),
        digits)
    # One trunk zero, also after a country code ("+84 0912…", "+84 0124 099 1978").
    national = pc.if_else(pc.starts_with(national, TRUNK_PREFIX), pc.utf8_slice_codeunits(national, 1), national)
    # The retired 11-digit numbers: 10 national digits starting with an old prefix.
    old_index = pc.index_in(pc.utf8_slice_codeunits(national, 0, 3), value_set=_OLD_PREFIXES)
    is_old = pc.and_(pc.equal(pc.utf8_length(national), OLD_NATIONAL_LENGTH), pc.is_valid(old_index))
    converted = _join(pc.take(_NEW_PREFIXES, old_index), pc.utf8_slice_codeunits(national, 3))
    national = pc.if_else(is_old, converted, national)

    kind = _kinds(national)
    is_mobile = pc.fill_null(pc.equal(kind, MOBILE), False)
    outcomes = [  # (when, reason, detail), first match wins
        (pc.is_valid(problem), INVALID_PHONE, problem),
        (pc.and_(pc.invert(note), pc.equal(digit_count, 0)), MISSING_PHONE, NO_PHONE),
        (pc.or_(pc.greater_equal(span_count, 2), pc.greater_equal(digit_count, SEVERAL_DIGITS)),
         SEVERAL_NUMBERS, SEVERAL),
        (pc.and_(note, pc.equal(span_count, 0)), INVALID_PHONE, NO_COMPLETE_NUMBER),
        (pc.and_(has_plus, pc.invert(plus_first)), INVALID_PHONE, MISPLACED_PLUS),
        (pc.is_valid(foreign), FOREIGN_NUMBER, _join(FOREIGN_DETAIL[0], foreign, FOREIGN_DETAIL[1])),
        (abroad, INVALID_PHONE, NO_SUCH_COUNTRY),
        (pc.is_null(kind), INVALID_PHONE, NOT_VIETNAMESE),
        (pc.invert(is_mobile), NOT_MOBILE, _join(NOT_MOBILE_DETAIL[0], kind, NOT_MOBILE_DETAIL[1])),
        (note, PHONE_WITH_NOTE, WITH_NOTE),
    ]
    which = pc.make_struct(*(pc.fill_null(when, False) for when, _, _ in outcomes))
    reason = pc.case_when(which, *(pa.scalar(r, _STRING) for _, r, _ in outcomes))
    detail = pc.case_when(which, *(_string(d) for _, _, d in outcomes))
    named = pc.and_(is_mobile, pc.or_(pc.is_null(reason), pc.fill_null(pc.equal(reason, PHONE_WITH_NOTE), False)))
    phone = pc.if_else(named, _join(TRUNK_PREFIX, national), pa.scalar(None, _STRING))
    return phone, reason, detail


def _join(*parts: str | pa.Array) -> pa.Array:
    """Text of the parts, row by row (a part that is a string is the same in every row)."""
    return pc.binary_join_element_wise(*(_string(p) for p in parts), _string(""))


def _string(value: str | pa.Array) -> pa.Scalar | pa.Array:
    return pa.scalar(value, _STRING) if isinstance(value, str) else value.cast(_STRING)


def _kinds(national: pa.Array) -> pa.Array:
    """``national_kind`` of every row (null: invalid), asked once per distinct (prefix, length)."""
    length = pc.utf8_length(national)
    candidate = pc.and_(pc.is_in(length, pa.array(NATIONAL_LENGTHS, length.type)),
                        pc.invert(pc.starts_with(national, TRUNK_PREFIX)))
    prefix = pc.if_else(candidate, pc.utf8_slice_codeunits(national, 0, 4), "0")
    key = pc.if_else(candidate, pc.add(pc.multiply(pc.cast(length, pa.int64()), 10_000),
                                       pc.cast(prefix, pa.int64())), pa.scalar(None, pa.int64()))
    distinct = pc.unique(key.filter(candidate))
    kinds = pa.array([national_kind(str(k % 10_000), k // 10_000) for k in distinct.to_pylist()], _STRING)
    return pc.take(kinds, pc.index_in(key, value_set=distinct))


_OLD_PREFIXES = pa.array(list(OLD_TO_NEW_PREFIX), _STRING)
_NEW_PREFIXES = pa.array(list(OLD_TO_NEW_PREFIX.values()), _STRING)


def _to_pandas(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([array.cast(_STRING)])), index=index)
