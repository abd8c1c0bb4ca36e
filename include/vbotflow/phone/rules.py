"""What a phone value means: its characters, the country code, the trunk zero, the 2018 renumbering.

One definition read by every path that handles a phone: the column-wise fast path
(``vbotflow.campaigns.phones``), the per-value reference (``vbotflow.phone.reference``), the DNC
file import, the receiver's typed phone column (``dial_digits``) and reconciliation's join
(``vbotflow.reconcile.sql.domestic_phone``, the SQL twin of ``domestic_form``). None of them
spells a character class or a prefix of its own. Pure Python: the receiver imports it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

COUNTRY_CODE = "84"
INTERNATIONAL_PREFIX = "00"  # dialled before a country code, from Vietnam and most countries
TRUNK_PREFIX = "0"  # the domestic prefix: 0912 345 678 is +84 912 345 678
MOBILE_NATIONAL_LENGTH = 9  # national digits of a mobile (after the trunk zero)
DOMESTIC_NATIONAL_LENGTHS = (9, 10)  # mobiles and landlines, written 0 + national
COMPLETE_DIGITS = 9  # the fewest digits a whole number is written with (a lost leading zero)
# Two whole numbers have at least 2 × 9 digits; the longest single spelling (0084 0 + an old
# 11-digit number) has 15. A cell with 18 or more digits therefore holds several numbers.
SEVERAL_DIGITS = 2 * COMPLETE_DIGITS
# A numeric cell (INTEGER, REAL, NUMERIC) holds one number without its zeros in front; the longest
# (84 0 + an old 11-digit number) has 13 digits, so anything from 10^15 up is no phone number.
MAX_NUMERIC_PHONE = 10**15
# Lengths phonenumbers allows for a Vietnamese national number (its general description).
NATIONAL_LENGTHS = (7, 8, 9, 10)

# The 2018 conversion of 11-digit mobile numbers: old national prefix (after the 0) → new one.
OLD_TO_NEW_PREFIX: dict[str, str] = {
    # Viettel
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
    # MobiFone
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    # VinaPhone
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    # Vietnamobile
    "186": "56", "188": "58",
    # Gmobile
    "199": "59",
}
OLD_NATIONAL_LENGTH = MOBILE_NATIONAL_LENGTH + 1

# Reject reasons of the phone step.
MISSING_PHONE = "missing_phone"
INVALID_PHONE = "invalid_phone"
NOT_MOBILE = "not_mobile"
FOREIGN_NUMBER = "foreign_number"
SEVERAL_NUMBERS = "several_numbers"
PHONE_WITH_NOTE = "phone_with_note"
PHONE_REASONS = (MISSING_PHONE, INVALID_PHONE, NOT_MOBILE, FOREIGN_NUMBER, SEVERAL_NUMBERS, PHONE_WITH_NOTE)

# Details (rejected_contact.detail): why, in words, never the number itself.
NO_PHONE = "no phone number"
NOT_A_PHONE_VALUE = "neither text nor a number (e.g. true/false, a date)"
NOT_A_WHOLE_NUMBER = "a number that cannot be a phone number (negative, with a fraction, or too large)"
ROUNDED_SCIENTIFIC = "scientific notation with digits lost (the spreadsheet rounded the number)"
NO_COMPLETE_NUMBER = "text without a complete phone number"
MISPLACED_PLUS = "a + that does not start the number"
NO_SUCH_COUNTRY = "+ or 00 followed by no country code in use"
NOT_VIETNAMESE = "not a valid Vietnamese number (phonenumbers)"
SEVERAL = "two or more numbers in one cell"
WITH_NOTE = "words or symbols besides the number in the phone cell"


# Details with a word from the row, as (before, after) so that the column-wise path joins the same words.
FOREIGN_DETAIL = ("a number of another country (+", ")")
NOT_MOBILE_DETAIL = ("a valid Vietnamese ", " number, not a mobile (phonenumbers)")


def foreign_detail(country_code: str) -> str:
    return FOREIGN_DETAIL[0] + country_code + FOREIGN_DETAIL[1]


def not_mobile_detail(kind: str) -> str:
    return NOT_MOBILE_DETAIL[0] + kind + NOT_MOBILE_DETAIL[1]


# --- Characters -----------------------------------------------------------------------------------
# Digits: ASCII, and every other Unicode decimal digit read by its value (full-width ０-９ from an
# IME or a web form, Arabic-Indic, ...), as phonenumbers reads them.
ASCII_DIGITS = "0123456789"
PLUS_SIGNS = "+\uff0b"  # + and full-width ＋
# Excel's "store as text" marker (and its typographic look-alikes after a word processor):
# stripped when it opens the cell, a note anywhere else.
APOSTROPHES = "'\u2018\u2019"
_WHITESPACE = "\t\n\v\f\r\x85\u2028\u2029"
# Invisible formatting that copy-paste brings along: soft hyphen, zero-width space/non-joiner/
# joiner, word joiner, byte-order mark, and the bidi marks phones copied from an app carry.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_PUNCTUATION = ".,;/\\|()[]\uff0e\uff0c\uff1b\uff0f\uff3c\uff5c\uff08\uff09\uff3b\uff3d\u3001"


# No space separator or decimal digit lies beyond plane 1 (a test checks the whole range): the
# tables below are read up to here, a tenth of the code points.
UNICODE_SCAN_END = 0x20000


def _unicode_spaces() -> str:
    """Every space separator (category Zs) of this Python's Unicode tables."""
    return "".join(chr(c) for c in range(UNICODE_SCAN_END) if unicodedata.category(chr(c)) == "Zs")


# What may stand between the digits of a number and is dropped: spaces of every kind, invisible
# formatting, dashes of every kind, dots, commas, slashes, brackets. Anything else (letters, ':',
# '#', '*', '~', quotes, emoji, ...) is a note: the number is then read for do-not-call only.
SEPARATORS = "".join(dict.fromkeys(_unicode_spaces() + _WHITESPACE + _INVISIBLE + _DASHES + _PUNCTUATION))
SEPARATOR_SET = frozenset(SEPARATORS)
PHONE_CHAR_SET = frozenset(ASCII_DIGITS + "+") | SEPARATOR_SET  # after fold_digits


@cache
def _digit_values() -> dict[str, str]:
    """Every non-ASCII decimal digit → its ASCII digit.

    Python's ``\\d`` matches exactly the category Nd: one regex pass over the scanned range finds
    them three times faster than asking ``unicodedata`` about each code point, which an Airflow
    task's fresh process paid on its first list (~25 ms).
    """
    scanned = "".join(map(chr, range(0x80, UNICODE_SCAN_END)))
    return {char: str(unicodedata.decimal(char)) for char in re.findall(r"\d", scanned)}


def non_ascii_digits(value: int) -> str:
    """The non-ASCII decimal digits worth ``value`` (for the fast path's character classes)."""
    return "".join(char for char, ascii_digit in _digit_values().items() if ascii_digit == str(value))


@cache
def _fold_table() -> dict[int, str]:
    return {ord(char): digit for char, digit in _digit_values().items()} | {ord("\uff0b"): "+"}


def fold_digits(text: str) -> str:
    """Digits of any script to ASCII, full-width ＋ to +: the rest of the rules see ASCII digits only."""
    return text if text.isascii() else text.translate(_fold_table())


def re2_class(chars: Iterable[str], *, negate: bool = False) -> str:
    """A regex character class (RE2 syntax, as Arrow's kernels take it) of exactly these characters."""
    codes = sorted({ord(c) for c in chars})
    parts, start = [], None
    for i, code in enumerate(codes):
        start = code if start is None else start
        if i + 1 < len(codes) and codes[i + 1] == code + 1:
            continue
        parts.append(f"\\x{{{start:X}}}" if start == code else f"\\x{{{start:X}}}-\\x{{{code:X}}}")
        start = None
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


# A spreadsheet's scientific notation, the whole cell: 9.12345678E+08 (a decimal comma too).
SCIENTIFIC = re.compile(r"([1-9])(?:[.,]([0-9]*))?[eE]([+-]?)([0-9]{1,3})")
# A whole number written by a float's text: 912345678.0, 912345678.00 (NUMERIC(…, 2)), 912345678,0.
FLOAT_TEXT = re.compile(r"([0-9]+)[.,]00?")


def clean_text(text: str) -> tuple[str, str | None]:
    """A cell's text ready to read, or why it cannot be read (a detail).

    Digits of other scripts folded, separators trimmed from both ends, Excel's leading apostrophe
    dropped, and a spreadsheet's number notations undone: ``9.12345678E+08`` is read only when it
    writes every digit (``9.12346E+08`` was rounded: someone else's number), ``912345678.0`` is
    the number 912345678, not ten digits.
    """
    text = fold_digits(text).strip(SEPARATORS)
    if text[:1] and text[0] in APOSTROPHES:
        text = text[1:].lstrip(SEPARATORS)
    if match := SCIENTIFIC.fullmatch(text):
        first, fraction, sign, exponent = match.group(1), match.group(2) or "", match.group(3), int(match.group(4))
        if sign == "-" or exponent < len(fraction):
            return text, NOT_A_WHOLE_NUMBER
        if exponent > len(fraction):
            return text, ROUNDED_SCIENTIFIC
        return first + fraction, None
    if match := FLOAT_TEXT.fullmatch(text):
        return match.group(1), None
    return text, None


# --- Reading the digits ---------------------------------------------------------------------------


@cache
def country_codes() -> frozenset[str]:
    """Country calling codes in use (phonenumbers' list; no code is the prefix of another)."""
    import phonenumbers  # lazily: the receiver reads digits and never needs the list

    return frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def foreign_code(digits: str) -> str | None:
    """The country code these digits (after + or 00) start with, if one is in use."""
    codes = country_codes()
    return next((digits[:n] for n in (1, 2, 3) if digits[:n] in codes), None)


def starts_with_plus(text: str) -> bool:
    """A single + before any digit: the number is written with its country code."""
    first = next((i for i, ch in enumerate(text) if ch in ASCII_DIGITS), len(text))
    return text.count("+") == 1 and text.index("+") < first


def national_digits(digits: str, international: bool) -> tuple[str | None, str | None, str | None]:
    """``(national, foreign_code, problem)`` of ASCII digits; ``international``: written after a +.

    The country code comes off (``+84``, ``0084``, and ``84`` at the lengths of a whole
    international number: 84 + 9, 84 + 10 or 84 + 0 + 10 digits, since a 9-digit local number
    may start with 84 too); then one trunk zero (also after a country code: ``+84 0912…``); then
    an old 11-digit mobile gets its 2018 prefix.
    """
    if international or digits.startswith(INTERNATIONAL_PREFIX):
        rest = digits if international else digits[len(INTERNATIONAL_PREFIX):]
        if not rest.startswith(COUNTRY_CODE):
            code = foreign_code(rest)
            return None, code, None if code else NO_SUCH_COUNTRY
        rest = rest[len(COUNTRY_CODE):]
    elif digits.startswith(COUNTRY_CODE) and len(digits) - len(COUNTRY_CODE) in (9, 10, 11):
        rest = digits[len(COUNTRY_CODE):]
    else:
        rest = digits
    if rest.startswith(TRUNK_PREFIX):
        rest = rest[len(TRUNK_PREFIX):]
    if len(rest) == OLD_NATIONAL_LENGTH and rest[:3] in OLD_TO_NEW_PREFIX:
        rest = OLD_TO_NEW_PREFIX[rest[:3]] + rest[3:]
    return rest, None, None


def spans(text: str) -> list[str]:
    """The runs of phone characters (digits, +, separators) between the notes of a cleaned text."""
    found, current = [], []
    for char in text:
        if char in PHONE_CHAR_SET:
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def digit_count(text: str) -> int:
    return sum(ch in ASCII_DIGITS for ch in text)


class UnreadablePhone(ValueError):
    """The text cannot stand for one number (the message says why)."""


def dial_digits(text: str) -> str:
    """A phone text as the receiver stores it: ASCII digits, with ``+`` when one starts the number.

    Read as ``clean_text`` reads a cell, and of a note around one number only the number; the
    separators and whatever else the text holds are then dropped.
    Raises ``UnreadablePhone`` for a rounded scientific notation or a number with a fraction.
    """
    cleaned, problem = clean_text(text)
    if problem:
        raise UnreadablePhone(problem)
    complete = [span for span in spans(cleaned) if digit_count(span) >= COMPLETE_DIGITS]
    if len(complete) == 1 and any(char not in PHONE_CHAR_SET for char in cleaned):
        cleaned = complete[0]  # a note around one number: the number
    digits = "".join(ch for ch in cleaned if ch in ASCII_DIGITS)
    return ("+" if digits and starts_with_plus(cleaned) else "") + digits


def domestic_form(dialled: str) -> str:
    """``dial_digits`` output → ``0`` + national number when it is a Vietnamese number, else unchanged.

    The Python twin of ``vbotflow.reconcile.sql.domestic_phone``: VBot echoes what it was sent
    (``0xxxxxxxxx``), and ``+84…``, ``84…``, ``0084…``, a lost zero or an old 11-digit number are
    put back into that form; a foreign number stays as it is and so matches no contact.
    """
    international = dialled.startswith("+")
    national, _code, _problem = national_digits(dialled.lstrip("+"), international)
    if national and len(national) in DOMESTIC_NATIONAL_LENGTHS and not national.startswith(TRUNK_PREFIX):
        return TRUNK_PREFIX + national
    return dialled
