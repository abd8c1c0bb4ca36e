"""A CRM's phone column → the Vietnamese mobile each cell names (``0xxxxxxxxx``), or why not.

Grain: one row in, one row out (same index). The rules are ``vbotflow.phone.rules`` — what a
digit, a separator, a country code and a trunk zero are — and the README's cleaning-rules table
says them in words. This module applies them to a whole column at once: Arrow kernels find the
few cells that need more than digit-reading (other scripts, notes, notations) and clean those;
the digits of every row then sit in one byte buffer, where country code, trunk zero and the 2018
renumbering are read with numpy, without Python per row. Only cells that are neither text nor
plain numbers (a column mixing types, Decimals) are converted one by one.

``vbotflow.phone.reference.decide_phone`` makes the same decision one value at a time, asking
``phonenumbers`` every time; a differential property test holds the two to the same (phone,
reason, detail) for any value, and the benchmark compares them on a million rows. Validity comes
from ``phonenumbers`` too, asked once per distinct (first four national digits, length).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vbotflow.campaigns.arrow_text import blank_for_null, bytes_of
from vbotflow.phone.kinds import MOBILE, national_kind
from vbotflow.phone.reference import cell_text
from vbotflow.phone.reference import normalise_phone_slow as normalise_phone_slow
from vbotflow.phone.rules import (
    APOSTROPHES,
    COMPLETE_DIGITS,
    COUNTRY_CODE,
    FOREIGN_NUMBER,
    INVALID_PHONE,
    MAX_NUMERIC_PHONE,
    MISPLACED_PLUS,
    MISSING_PHONE,
    NATIONAL_LENGTHS,
    NO_COMPLETE_NUMBER,
    NO_PHONE,
    NO_SUCH_COUNTRY,
    NOT_A_PHONE_VALUE,
    NOT_A_WHOLE_NUMBER,
    NOT_MOBILE,
    NOT_VIETNAMESE,
    OLD_NATIONAL_LENGTH,
    OLD_TO_NEW_PREFIX,
    PHONE_REASONS,
    PHONE_WITH_NOTE,
    ROUNDED_SCIENTIFIC,
    SEPARATORS,
    SEVERAL,
    SEVERAL_DIGITS,
    SEVERAL_NUMBERS,
    WITH_NOTE,
    country_codes,
    foreign_detail,
    non_ascii_digits,
    not_mobile_detail,
    re2_class,
)

__all__ = ["arrow_array", "normalise_phone_slow", "normalise_phones"]

_STRING = pa.large_string()
_SEP = re2_class(SEPARATORS)[1:-1]  # the class's inside, to combine with other characters
_NOT_PHONE_CHAR = f"[^0-9+{_SEP}]"
_COMPLETE_SPAN = f"(?:[+{_SEP}]*[0-9]){{{COMPLETE_DIGITS}}}[0-9+{_SEP}]*"
_LEADING_APOSTROPHE = f"^{re2_class(APOSTROPHES)}[{_SEP}]*"
_SCIENTIFIC = r"^(?P<first>[1-9])(?:[.,](?P<fraction>[0-9]*))?[eE](?P<sign>[+-]?)(?P<exponent>[0-9]{1,3})$"
_FLOAT_TEXT = r"^([0-9]+)[.,]00?$"
_FLOAT_ENDINGS = (".0", ".00", ",0", ",00")
_PLUS_FIRST = r"^[^0-9+]*\+[^+]*$"

# Why a value cannot be a phone, before its digits are read (0: it can).
_PROBLEMS = (None, NOT_A_PHONE_VALUE, NOT_A_WHOLE_NUMBER, ROUNDED_SCIENTIFIC)
_PROBLEM_CODE = {detail: code for code, detail in enumerate(_PROBLEMS) if detail}
_ZERO, _PLUS = ord("0"), ord("+")


def normalise_phones(raw: pd.Series) -> pd.DataFrame:
    """Decide a column of raw phone values (text, numbers, NULLs, or a mix).

    Returns a frame on the same index: ``phone`` (the mobile the cell names, ``0xxxxxxxxx``; also
    set for ``phone_with_note`` rows, so that do-not-call covers them), ``reject_reason`` and
    ``reject_detail`` (categoricals, missing where the phone is accepted), ``raw_text`` (the cell as text).
    """
    text, problem, raw_text = _cells(raw)
    phone, reason, detail = _decide(text, problem)
    return pd.DataFrame({
        "phone": _to_pandas(phone, raw.index),
        "reject_reason": pd.Series(reason, index=raw.index),
        "reject_detail": pd.Series(detail, index=raw.index),
        "raw_text": _to_pandas(raw_text, raw.index),
    }, index=raw.index)


# --- cells → text ----------------------------------------------------------------------------------


def arrow_array(values: pd.Series) -> pa.Array:
    """A pandas column as one Arrow array, through public APIs (zero-copy where pandas holds Arrow)."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        array = pa.array(values.array)  # the array's __arrow_array__ (Arrow-backed strings: no copy)
    else:
        array = pa.Array.from_pandas(values)  # numpy: NaN becomes null
    if isinstance(array, pa.ChunkedArray):
        return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def _cells(values: pd.Series) -> tuple[pa.Array, np.ndarray, pa.Array]:
    """(text to read, why the value cannot be a phone — a ``_PROBLEMS`` code —, the cell as text)."""
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
    kind, fine = array.type, np.zeros(len(array), dtype=np.int8)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        text = array.cast(_STRING)
        return text, fine, text
    if pa.types.is_null(kind):
        return pa.nulls(len(array), _STRING), fine, pa.nulls(len(array), _STRING)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if pa.types.is_floating(kind):
            array = pc.if_else(pc.is_nan(array), pa.scalar(None, kind), array)  # NaN is a missing value
            whole = pc.and_(pc.is_finite(array), pc.equal(pc.floor(array), array))
        else:
            whole = pc.is_valid(array)
        whole = pc.fill_null(pc.and_(whole, pc.and_(pc.greater_equal(array, 0), pc.less(array, MAX_NUMERIC_PHONE))),
                             False)
        text = pc.cast(pc.cast(pc.if_else(whole, array, pa.scalar(None, kind)), pa.int64()), _STRING)
        problem = np.where(pc.and_(pc.is_valid(array), pc.invert(whole)).to_numpy(zero_copy_only=False),
                           _PROBLEM_CODE[NOT_A_WHOLE_NUMBER], 0).astype(np.int8)
        return text, problem, pc.coalesce(text, pc.cast(array, _STRING))
    return _cells_one_by_one(array.to_pylist())  # Decimals, booleans, dates, bytes: value by value


def _cells_one_by_one(values: list) -> tuple[pa.Array, np.ndarray, pa.Array]:
    texts, problems, shown = [], [], []
    for value in values:
        text, problem = cell_text(value)
        texts.append(text)
        problems.append(_PROBLEM_CODE.get(problem, 0))
        shown.append(text if text is not None or problem == NO_PHONE else str(value))
    return pa.array(texts, _STRING), np.array(problems, dtype=np.int8), pa.array(shown, _STRING)


# --- the rare cells: other scripts' digits, Excel's apostrophe, notations, notes -----------------


@cache
def _digit_classes() -> tuple[str, ...]:
    return tuple(re2_class(non_ascii_digits(value)) for value in range(10))


def _fold_digits(text: pa.Array) -> pa.Array:
    """Digits of other scripts → ASCII, full-width ＋ → + (only ASCII-free cells can hold them)."""
    other = pc.invert(pc.string_is_ascii(text))
    if not pc.any(other).as_py():
        return text
    folded = text.filter(other)
    for value, digits in enumerate(_digit_classes()):
        folded = pc.replace_substring_regex(folded, digits, str(value))
    return pc.replace_with_mask(text, other, pc.replace_substring(folded, "\uff0b", "+"))


def _rare_cells(text: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """``rules.clean_text`` for cells with more than digits, + and separators (and floats' text),
    then the number inside a note: (number text, problem code, has a note, complete spans)."""
    text = pc.replace_substring_regex(_fold_digits(text), _LEADING_APOSTROPHE, "", max_replacements=1)
    parts = pc.extract_regex(text, _SCIENTIFIC)
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    problem = np.zeros(len(text), dtype=np.int8)
    if matched.any():  # scientific notation is read only when it writes every digit
        fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
        written = pc.utf8_length(fraction).to_numpy(zero_copy_only=False)
        exponent = pc.cast(pc.fill_null(pc.struct_field(parts, "exponent"), "0"), pa.int32()).to_numpy()
        negative = pc.fill_null(pc.equal(pc.struct_field(parts, "sign"), "-"), False).to_numpy(zero_copy_only=False)
        exact = matched & ~negative & (exponent == written)
        problem[matched & ~exact] = _PROBLEM_CODE[NOT_A_WHOLE_NUMBER]
        problem[matched & ~negative & (exponent > written)] = _PROBLEM_CODE[ROUNDED_SCIENTIFIC]
        digits = pc.binary_join_element_wise(pc.struct_field(parts, "first"), fraction, pa.scalar("", _STRING))
        text = pc.if_else(pa.array(exact), digits, text)
    # A whole number written by a float's text: 912345678.0 is the number 912345678, not ten digits.
    text = pc.replace_substring_regex(text, _FLOAT_TEXT, r"\1")
    note = pc.match_substring_regex(text, _NOT_PHONE_CHAR).to_numpy(zero_copy_only=False)
    spans = np.ones(len(text), dtype=np.int32)
    if note.any():  # the number between a note's words: only a complete one (9+ digits) counts
        rows = pa.array(np.flatnonzero(note))
        noted = text.take(rows)
        spans[note] = pc.count_substring_regex(noted, _COMPLETE_SPAN).to_numpy()
        first = pc.struct_field(pc.extract_regex(noted, f"(?P<span>{_COMPLETE_SPAN})"), "span")
        text = pc.replace_with_mask(text, pa.array(note), pc.utf8_trim(pc.fill_null(first, ""), SEPARATORS))
    return text.cast(_STRING), problem, note, spans


# --- the digits of every row, in one buffer ---------------------------------------------------------


# Byte classes: 0 a digit, + or ASCII separator; 1 any other byte (another character, or part of a
# non-ASCII one); 2 the mark of a float's ending (. or ,).
_BYTE_CLASS = np.ones(256, dtype=np.uint8)
_BYTE_CLASS[[ord(c) for c in "0123456789+" + SEPARATORS if ord(c) < 128]] = 0
_BYTE_CLASS[[ord(ending[0]) for ending in _FLOAT_ENDINGS]] = 2


def _maybe_rare(text: pa.Array) -> np.ndarray:
    """Rows that may hold more than digits, + and separators, or a float's text (. or , before a 0):
    a superset of the rare rows, from one look-up per byte."""
    offsets, data = bytes_of(text)
    found = np.zeros(len(text), dtype=bool)
    if not len(data):
        return found
    kind = _BYTE_CLASS[data]
    hit = kind == 1
    hit[:-1] |= (kind[:-1] == 2) & (data[1:] == _ZERO)
    found[np.searchsorted(offsets[1:], np.flatnonzero(hit), side="right")] = True
    return found


class _Digits:
    """The ASCII digits of every row in Arrow's string layout (one byte buffer, row offsets), read
    a few positions at a time for every row at once."""

    def __init__(self, text: pa.Array) -> None:
        offsets, data = bytes_of(blank_for_null(text))
        keep = (data >= _ZERO) & (data <= _ZERO + 9)  # UTF-8 never uses these bytes inside another character
        # Digits per row: summed over each non-empty row's bytes (an empty row has none). Few and
        # small temporaries: in a VM, first-touched memory costs more than the arithmetic.
        starts = offsets[:-1]
        filled = starts[1:] != starts[:-1] if len(starts) else np.zeros(0, dtype=bool)
        filled = np.append(filled, len(data) > (starts[-1] if len(starts) else 0))
        self.length = np.zeros(len(text), dtype=np.int64)
        if filled.any():
            # Summed in bytes when no row is longer than 255 bytes (twice as fast), else in int64.
            wide = len(starts) and int(np.diff(offsets).max()) > 255
            self.length[filled] = np.add.reduceat(keep.view(np.uint8), starts[filled],
                                                  dtype=np.int64 if wide else np.uint8)
        self.offsets = np.zeros(len(text) + 1, dtype=np.int64)
        np.cumsum(self.length, out=self.offsets[1:])
        kept = int(self.offsets[-1])
        self.data = np.empty(kept + 2 * _WINDOW, dtype=np.uint8)  # padded: every window fits
        self.data[kept:] = 0
        # Rows holding a +, from the same bytes (an Arrow substring search over the rows cost ~30 ms).
        self.plus = np.zeros(len(text), dtype=bool)
        self.plus[np.searchsorted(offsets[1:], np.flatnonzero(data == _PLUS), side="right")] = True
        # A boolean index, not np.compress: in the transform's first call compress took ~0.2 s here
        # (the boolean index 0.015 s) though it is faster alone.
        np.subtract(data[keep], _ZERO, out=self.data[:kept])

    def bytes(self, start: np.ndarray | int, width: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The ``width`` digit values from ``start`` on of every row (or of ``rows``), as they lie in the buffer."""
        offsets = self.offsets[:-1] if rows is None else self.offsets[:-1][rows]
        return np.lib.stride_tricks.sliding_window_view(self.data, width)[offsets + start]

    def window(self, start: np.ndarray | int, width: int) -> np.ndarray:
        """Each row's digits from ``start`` on, ``width`` of them; -1 past the row's end."""
        taken = self.bytes(start, width).astype(np.int16)
        remaining = self.length - start
        short = np.flatnonzero(remaining < width)  # few rows (~2 %): a mask over theirs only
        taken[short] = np.where(np.arange(width) < remaining[short, None], taken[short], -1)
        return taken


def _number(*digits: np.ndarray) -> np.ndarray:
    """The number some digit columns (at most 4) make (-1 where one is missing)."""
    total, missing = np.zeros(len(digits[0]), dtype=np.int32), np.zeros(len(digits[0]), dtype=bool)
    for digit in digits:
        total *= 10
        total += digit
        missing |= digit < 0
    total[missing] = -1
    return total


def _table(keys: list[int] | dict[int, int], size: int = 1000) -> np.ndarray:
    """A lookup table over 0..size-1 (index ``size`` answers -1/absent): a key's value, or -1."""
    table = np.full(size + 1, -1, dtype=np.int64)
    for key, value in (keys.items() if isinstance(keys, dict) else ((k, k) for k in keys)):
        table[key] = value
    return table


_COUNTRY_CODES = {n: _table([int(c) for c in country_codes() if len(c) == n]) for n in (1, 2, 3)}
_WINDOW = 16  # digits a row is looked into: the longest prefix (0084 0) and a national number
_NEW_HEAD = _table({int(old): int(new) for old, new in OLD_TO_NEW_PREFIX.items()})
# Details that depend on the row: why the value is no phone, the country, the kind of number.
_PROBLEM, _COUNTRY, _KIND = "<problem>", "<country>", "<kind>"


def _lookup(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return table[np.where((keys >= 0) & (keys < len(table) - 1), keys, len(table) - 1)]


def _decide(text: pa.Array, problem: np.ndarray) -> tuple[pa.Array, pd.Categorical, pd.Categorical]:
    rows = len(text)
    text = blank_for_null(text)
    note, spans = np.zeros(rows, dtype=bool), np.ones(rows, dtype=np.int32)
    # The exact test (trimmed of separators: a character that is not a digit, + or separator, or a
    # float's ending) runs on the few rows the bytes cannot clear. Other rows stay untrimmed: their
    # digits and + are the same either way.
    maybe = np.flatnonzero(_maybe_rare(text))
    if len(maybe):
        trimmed = pc.utf8_trim(text.take(pa.array(maybe)), SEPARATORS)
        ends = [pc.ends_with(trimmed, ending) for ending in _FLOAT_ENDINGS]
        is_rare = pc.or_(pc.match_substring_regex(trimmed, _NOT_PHONE_CHAR),
                         pc.or_(pc.or_(ends[0], ends[1]), pc.or_(ends[2], ends[3]))).to_numpy(zero_copy_only=False)
        if is_rare.any():
            where = maybe[is_rare]
            cleaned, rare_problem, note[where], spans[where] = _rare_cells(trimmed.filter(pa.array(is_rare)))
            rare = np.zeros(rows, dtype=bool)
            rare[where] = True
            text = pc.replace_with_mask(text, pa.array(rare), cleaned)
            problem = problem.copy()
            problem[where] = np.where(problem[where] > 0, problem[where], rare_problem)

    digits = _Digits(text)
    length = digits.length
    plus = digits.plus
    plus_first = plus.copy()
    if plus.any():
        plus_first[plus] = pc.match_substring_regex(text.filter(pa.array(plus)), _PLUS_FIRST).to_numpy(
            zero_copy_only=False)

    # The country code: + or 00, then a code; 84 written without either at whole-number lengths.
    head = digits.window(0, 6)
    international = plus | ((head[:, 0] == 0) & (head[:, 1] == 0))
    code = np.where(plus[:, None], head[:, 0:3], head[:, 2:5])  # the digits after + or 00
    cc = int(COUNTRY_CODE)
    vietnam = international & (_number(code[:, 0], code[:, 1]) == cc)
    abroad = international & ~vietnam
    written_84 = ~international & (_number(head[:, 0], head[:, 1]) == cc) & (length >= 11) & (length <= 13)
    start = np.where(vietnam, np.where(plus, 2, 4), np.where(written_84, 2, 0))
    start = start + (np.take_along_axis(head, start[:, None], axis=1)[:, 0] == 0)  # one trunk zero, also after +84
    foreign = np.full(rows, -1, dtype=np.int64)
    elsewhere = np.flatnonzero(abroad)  # few rows: their codes only are looked up
    if len(elsewhere):
        found, their_code = np.full(len(elsewhere), -1, dtype=np.int64), code[elsewhere]
        for n in (1, 2, 3):  # country codes are prefix-free: at most one length matches
            found = np.where(found < 0, _lookup(_COUNTRY_CODES[n], _number(*their_code[:, :n].T)), found)
        foreign[elsewhere] = found

    # The national number: its length, first digits, and the 2018 renumbering of 11-digit mobiles.
    national = digits.window(start, 5)
    national_length = length - start
    new_head = np.where(national_length == OLD_NATIONAL_LENGTH, _lookup(_NEW_HEAD, _number(*national[:, :3].T)), -1)
    old = new_head >= 0
    prefix = np.where(old, new_head * 100 + _number(national[:, 3], national[:, 4]), _number(*national[:, :4].T))
    kind, kind_names = _kinds(prefix, national_length - old)
    mobile = kind == 0

    outcomes = [  # (when, reason, detail): the first that holds decides, as in reference.decide_phone
        (problem > 0, INVALID_PHONE, _PROBLEM),
        (~note & (length == 0), MISSING_PHONE, NO_PHONE),
        ((spans >= 2) | (length >= SEVERAL_DIGITS), SEVERAL_NUMBERS, SEVERAL),
        (note & (spans == 0), INVALID_PHONE, NO_COMPLETE_NUMBER),
        (plus & ~plus_first, INVALID_PHONE, MISPLACED_PLUS),
        (abroad & (foreign >= 0), FOREIGN_NUMBER, _COUNTRY),
        (abroad, INVALID_PHONE, NO_SUCH_COUNTRY),
        (kind < 0, INVALID_PHONE, NOT_VIETNAMESE),
        (~mobile, NOT_MOBILE, _KIND),
        (note, PHONE_WITH_NOTE, WITH_NOTE),
    ]
    outcome = np.select([when for when, _, _ in outcomes], list(range(1, len(outcomes) + 1)), default=0)
    named = mobile & ((outcome == 0) | (outcome == len(outcomes)))  # accepted, or a mobile inside a note
    phone = _phone_texts(digits, start, old, new_head, named)
    return phone, *_reasons_and_details(outcome, [(r, d) for _, r, d in outcomes], problem, foreign, kind, kind_names)


def _kinds(prefix: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per row: 0 a mobile, k > 0 the k-th other kind of valid number, -1 invalid; and the kinds' words.

    ``phonenumbers`` is asked once per distinct (first four national digits, length); a national
    number never starts with 0 (``prefix`` ≥ 1000).
    """
    # Keys over a small range (length 7-10, four digits): a table indexed by key, not a hash or a sort.
    size = (max(NATIONAL_LENGTHS) + 1) * 10_000
    candidate = (length >= min(NATIONAL_LENGTHS)) & (length <= max(NATIONAL_LENGTHS)) & (prefix >= 1000)
    key = np.where(candidate, length.astype(np.int32) * 10_000 + prefix.astype(np.int32), size)
    present = np.zeros(size + 1, dtype=bool)
    present[key] = True
    distinct = np.flatnonzero(present[:size])
    words = [national_kind(str(k % 10_000), int(k // 10_000)) for k in distinct.tolist()]
    names = sorted({w for w in words if w and w != MOBILE})
    table = np.full(size + 1, -1, dtype=np.int16)
    table[distinct] = [-1 if w is None else 0 if w == MOBILE else names.index(w) + 1 for w in words]
    return table[key], names


def _phone_texts(digits: _Digits, start: np.ndarray, old: np.ndarray, new_head: np.ndarray,
                 named: np.ndarray) -> pa.Array:
    """``0`` + the nine national digits of the ``named`` rows (null elsewhere), built as bytes."""
    rows = np.flatnonzero(named)
    is_old = old[rows]
    text = np.empty((len(rows), 10), dtype=np.uint8)
    text[:, 0] = 0
    # An old number: its first digit dropped, its next two replaced by the new prefix.
    text[:, 1:] = digits.bytes(start[rows] + is_old, 9, rows)
    renumbered = new_head[rows][is_old]
    text[is_old, 1], text[is_old, 2] = renumbered // 10, renumbered % 10
    text += _ZERO
    offsets = np.zeros(len(named) + 1, dtype=np.int64)
    np.cumsum(named * 10, out=offsets[1:])
    validity = pa.py_buffer(np.packbits(named, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(named), pa.py_buffer(offsets), pa.py_buffer(text),
                                            validity, int(len(named) - len(rows)))


def _reasons_and_details(outcome: np.ndarray, outcomes: list[tuple[str, str]], problem: np.ndarray,
                         foreign: np.ndarray, kind: np.ndarray, kind_names: list[str]
                         ) -> tuple[pd.Categorical, pd.Categorical]:
    """Reasons and details as categoricals: a few texts and a code per row, no string built per row."""
    reason_code = np.array([-1, *(PHONE_REASONS.index(r) for r, _ in outcomes)], dtype=np.int8)[outcome]
    countries = sorted(set(foreign[outcome == 1 + [d for _, d in outcomes].index(_COUNTRY)].tolist()))
    per_row = {_PROBLEM: list(_PROBLEMS[1:]), _COUNTRY: [foreign_detail(str(c)) for c in countries],
               _KIND: [not_mobile_detail(name) for name in kind_names]}
    details = [d for _, d in outcomes if d not in per_row]
    first = {}  # where each per-row list starts among the details
    for marker, texts in per_row.items():
        first[marker] = len(details)
        details += texts
    row_index = {_PROBLEM: problem.astype(np.int64) - 1, _KIND: kind.astype(np.int64) - 1,
                 _COUNTRY: np.searchsorted(countries, foreign) if countries else np.zeros(len(outcome), np.int64)}
    detail_code = np.full(len(outcome), -1, dtype=np.int64)
    for position, (_, detail) in enumerate(outcomes, start=1):
        rows = outcome == position
        detail_code[rows] = (first[detail] + row_index[detail][rows]) if detail in per_row else details.index(detail)
    return (pd.Categorical.from_codes(reason_code, categories=list(PHONE_REASONS)),
            pd.Categorical.from_codes(detail_code, categories=details))


def _to_pandas(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([array.cast(_STRING)])), index=index)
