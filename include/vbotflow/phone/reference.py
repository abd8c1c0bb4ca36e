"""One phone value → its decision, written plainly and asking ``phonenumbers`` every time.

The reference the column-wise fast path (``vbotflow.campaigns.phones``) is tested and benchmarked
against, and the reader of the few cells that hold several numbers (do-not-call must cover each).
Both follow ``vbotflow.phone.rules``; the README's cleaning-rules table says the same in words.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers

from vbotflow.phone.kinds import MOBILE, kind_of
from vbotflow.phone.rules import (
    ASCII_DIGITS,
    COMPLETE_DIGITS,
    FOREIGN_NUMBER,
    INVALID_PHONE,
    MAX_NUMERIC_PHONE,
    MISPLACED_PLUS,
    MISSING_PHONE,
    NO_COMPLETE_NUMBER,
    NO_PHONE,
    NOT_A_PHONE_VALUE,
    NOT_A_WHOLE_NUMBER,
    NOT_MOBILE,
    NOT_VIETNAMESE,
    PHONE_CHAR_SET,
    PHONE_WITH_NOTE,
    SEVERAL,
    SEVERAL_DIGITS,
    SEVERAL_NUMBERS,
    TRUNK_PREFIX,
    WITH_NOTE,
    clean_text,
    digit_count,
    foreign_detail,
    national_digits,
    not_mobile_detail,
    spans,
    starts_with_plus,
)


@dataclass(frozen=True)
class PhoneDecision:
    """``phone``: the Vietnamese mobile the value names (``0xxxxxxxxx``), also when it is rejected
    for a note around it; ``reason``/``detail``: why it is not called (None when it is)."""

    phone: str | None
    reason: str | None
    detail: str | None


def _rejected(reason: str, detail: str) -> PhoneDecision:
    return PhoneDecision(None, reason, detail)


def _whole(value: int | float | Decimal) -> tuple[str | None, str | None]:
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite or value != int(value) or not 0 <= value < MAX_NUMERIC_PHONE:
        return None, NOT_A_WHOLE_NUMBER
    return str(int(value)), None


def cell_text(value: object) -> tuple[str | None, str | None]:
    """``(text, None)``, or ``(None, detail)``: a number keeps its digits (912345678.0 is "912345678")."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, NO_PHONE
    if isinstance(value, bool | np.bool_):
        return None, NOT_A_PHONE_VALUE
    if isinstance(value, str):
        return value, None
    if isinstance(value, Decimal):
        return (None, NO_PHONE) if value.is_nan() else _whole(value)
    if isinstance(value, numbers.Integral):
        return _whole(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return (None, NO_PHONE) if math.isnan(number) else _whole(number)
    if isinstance(value, np.datetime64) and np.isnat(value):
        return None, NO_PHONE
    return None, NOT_A_PHONE_VALUE


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch in ASCII_DIGITS)


def _clean_text(value: object) -> tuple[str | None, PhoneDecision | None]:
    """The cell's text ready for reading (``rules.clean_text``), or the decision when nothing is left to read."""
    text, problem = cell_text(value)
    if text is None:
        return None, _rejected(MISSING_PHONE if problem == NO_PHONE else INVALID_PHONE, problem)
    text, problem = clean_text(text)
    return (None, _rejected(INVALID_PHONE, problem)) if problem else (text, None)


def decide_phone(value: object) -> PhoneDecision:
    """The decision for one cell of a CRM's phone column (text, number, NULL, anything)."""
    text, decided = _clean_text(value)
    if decided is not None:
        return decided
    assert text is not None
    if all(char in PHONE_CHAR_SET for char in text):
        digits = digit_count(text)
        if not digits:
            return _rejected(MISSING_PHONE, NO_PHONE)
        if digits >= SEVERAL_DIGITS:
            return _rejected(SEVERAL_NUMBERS, SEVERAL)
        return _decide_number(text)
    # A note around the number: only a complete number (9+ digits) between the words counts.
    runs = spans(text)
    lengths = [digit_count(span) for span in runs]
    complete = [span for span, n in zip(runs, lengths, strict=True) if n >= COMPLETE_DIGITS]
    if len(complete) >= 2 or max(lengths, default=0) >= SEVERAL_DIGITS:
        return _rejected(SEVERAL_NUMBERS, SEVERAL)
    if not complete:
        return _rejected(INVALID_PHONE, NO_COMPLETE_NUMBER)
    decision = _decide_number(complete[0])
    if decision.reason is None:
        return PhoneDecision(decision.phone, PHONE_WITH_NOTE, WITH_NOTE)
    return decision


def _decide_number(text: str) -> PhoneDecision:
    """One number's characters (digits, separators, maybe a +) → mobile, or why not."""
    if "+" in text and not starts_with_plus(text):
        return _rejected(INVALID_PHONE, MISPLACED_PLUS)
    national, foreign, problem = national_digits(_digits(text), "+" in text)
    if foreign:
        return _rejected(FOREIGN_NUMBER, foreign_detail(foreign))
    if problem or not national or national.startswith(TRUNK_PREFIX):
        return _rejected(INVALID_PHONE, problem or NOT_VIETNAMESE)
    try:
        number = phonenumbers.parse(TRUNK_PREFIX + national, "VN")
    except phonenumbers.NumberParseException:
        return _rejected(INVALID_PHONE, NOT_VIETNAMESE)
    kind = kind_of(number)
    if kind is None:
        return _rejected(INVALID_PHONE, NOT_VIETNAMESE)
    if kind != MOBILE:
        return _rejected(NOT_MOBILE, not_mobile_detail(kind))
    return PhoneDecision(TRUNK_PREFIX + str(number.national_number), None, None)


def normalise_phone_slow(raw: object) -> tuple[str | None, str | None]:
    """``(phone, reason)`` of one value: what the fast path must give for it, row by row."""
    decision = decide_phone(raw)
    return decision.phone, decision.reason


@lru_cache(maxsize=4096)
def _mobile(text: str) -> str | None:
    return _decide_number(text).phone


def _numbers_in_run(span: str) -> list[str]:
    """The mobiles a run of 18+ digits holds: read group by group where separators (or a +)
    split it, each number the shortest run of whole groups that is a mobile; without any
    separator, every cut into two mobiles counts (for do-not-call, reading too many is safe)."""
    groups = [group for group in re.split(r"[^0-9]+", span.replace("+", " +")) if group]
    found: list[str] = []
    if len(groups) > 1:
        pending = ""
        for group in groups:
            pending += group
            if phone := _mobile(pending):
                found.append(phone)
                pending = ""
        return found
    digits = groups[0] if groups else ""
    for cut in range(COMPLETE_DIGITS, len(digits) - COMPLETE_DIGITS + 1):
        left, right = _mobile(digits[:cut]), _mobile(digits[cut:])
        if left and right:
            found += [left, right]
    return found


def numbers_in_cell(value: object) -> list[str]:
    """Every Vietnamese mobile a cell names, for do-not-call: one, or each of several in one cell."""
    decision = decide_phone(value)
    if decision.phone:
        return [decision.phone]
    if decision.reason != SEVERAL_NUMBERS:
        return []
    text, _ = _clean_text(value)
    found: dict[str, None] = {}
    for span in spans(text or ""):
        count = digit_count(span)
        if count >= SEVERAL_DIGITS:
            found.update(dict.fromkeys(_numbers_in_run(span)))
        elif count >= COMPLETE_DIGITS and (phone := _mobile(span)):
            found[phone] = None
    return list(found)
