"""Vietnamese phone numbers → the domestic form VBot dials (``0xxxxxxxxx``), vectorised.

Grain: one row in, one row out (same index).

Accepted spellings: spaces, dots, dashes, slashes, brackets; ``+84``, ``84``, ``0084``; a leading
zero lost in a spreadsheet; the 11-digit numbers retired in 2018 (0162→032, 0120→070, 0123→083,
0186→056, 0199→059, …). Validity comes from ``phonenumbers`` (region VN, a mobile number), asked
once per distinct 4-digit national prefix: every VN mobile pattern in its metadata is fixed by
at most the first four national digits followed by free digits, which the property test checks.
"""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

# Reject reasons, in the order they are decided.
MISSING_PHONE = "missing_phone"
INVALID_PHONE = "invalid_phone"
NOT_MOBILE = "not_mobile"

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

# What a phone field may contain besides digits. Letters or other symbols mean it is not a number
# (or a note typed into the phone column), and guessing would call a stranger.
_ALLOWED_PATTERN = r"^[\d\s.\-()+/]*$"  # the same pattern serves Arrow (RE2) and Python's re
ALLOWED_TEXT = re.compile(_ALLOWED_PATTERN)
NATIONAL_LENGTH = 9
PREFIX_DIGITS = 4


@cache
def is_mobile_prefix(national_prefix: str) -> bool:
    """Whether numbers with this 4-digit national prefix are valid VN mobiles (phonenumbers decides)."""
    # Built directly rather than parsed: the same number, without the parser's cost per prefix.
    national = int(national_prefix + "0" * (NATIONAL_LENGTH - PREFIX_DIGITS))
    return is_valid_vn_mobile(phonenumbers.PhoneNumber(country_code=84, national_number=national))


def is_valid_vn_mobile(number: phonenumbers.PhoneNumber) -> bool:
    """The oracle: a valid Vietnamese number of mobile type."""
    return (
        number.country_code == 84
        and phonenumbers.is_valid_number_for_region(number, "VN")
        and phonenumbers.number_type(number)
        in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    )


def normalise_phones(raw: pd.Series) -> pd.DataFrame:
    """Normalise a column of raw phone values (Arrow compute kernels, no Python loop per row).

    Returns a frame on the same index with ``phone`` (``0xxxxxxxxx`` or missing) and
    ``reject_reason`` (missing where the phone is good).
    """
    text = pc.utf8_trim_whitespace(pc.fill_null(_as_arrow_strings(raw), ""))
    allowed = pc.match_substring_regex(text, _ALLOWED_PATTERN)
    digits = pc.replace_substring_regex(text, r"\D", "")

    # Strip the country code: 0084… always; 84… only at the lengths of a full international
    # number (84 + 9 or 84 + 10 digits), since 9-digit local numbers may also start with 84.
    international = pc.and_(pc.starts_with(digits, "84"), pc.is_in(pc.utf8_length(digits), pa.array([11, 12])))
    national = pc.if_else(
        pc.starts_with(digits, "0084"),
        pc.utf8_slice_codeunits(digits, 4),
        pc.if_else(international, pc.utf8_slice_codeunits(digits, 2), digits),
    )
    # One trunk zero (also after a country code: "+84 0912…").
    national = pc.if_else(pc.starts_with(national, "0"), pc.utf8_slice_codeunits(national, 1), national)

    # The retired 11-digit numbers: 10 national digits starting with an old prefix.
    old_index = pc.index_in(pc.utf8_slice_codeunits(national, 0, 3), value_set=_OLD_PREFIXES)
    is_old = pc.and_(pc.equal(pc.utf8_length(national), NATIONAL_LENGTH + 1), pc.is_valid(old_index))
    converted = pc.binary_join_element_wise(pc.take(_NEW_PREFIXES, old_index),
                                            pc.utf8_slice_codeunits(national, 3), _EMPTY)
    national = pc.if_else(is_old, converted, national)

    # Nine national digits, the first not a zero ("0080…" is no number, whatever remains).
    right_length = pc.and_(pc.equal(pc.utf8_length(national), NATIONAL_LENGTH),
                           pc.invert(pc.starts_with(national, "0")))
    prefixes = pc.utf8_slice_codeunits(national, 0, PREFIX_DIGITS)
    distinct = pc.unique(pc.filter(prefixes, right_length)).to_pylist()
    mobile_prefixes = pa.array([p for p in distinct if is_mobile_prefix(p)], pa.large_string())
    mobile = pc.and_(right_length, pc.is_in(prefixes, value_set=mobile_prefixes))

    reason = pc.case_when(
        pc.make_struct(pc.equal(text, ""), pc.invert(pc.and_(allowed, right_length)), pc.invert(mobile)),
        MISSING_PHONE, INVALID_PHONE, NOT_MOBILE,
    )
    phone = pc.if_else(pc.is_null(reason), pc.binary_join_element_wise(_ZERO, national, _EMPTY), None)
    return pd.DataFrame(
        {"phone": _to_pandas(phone, raw.index), "reject_reason": _to_pandas(reason, raw.index)},
        index=raw.index,
    )


_EMPTY = pa.scalar("", pa.large_string())
_ZERO = pa.scalar("0", pa.large_string())
_OLD_PREFIXES = pa.array(list(OLD_TO_NEW_PREFIX), pa.large_string())
_NEW_PREFIXES = pa.array(list(OLD_TO_NEW_PREFIX.values()), pa.large_string())


def _as_arrow_strings(values: pd.Series) -> pa.ChunkedArray:
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        # Numbers typed into a spreadsheet arrive as int or float: 912345678.0 is "912345678".
        if values.dtype.kind == "f":
            values = values.astype("Int64")
        values = values.astype("string[pyarrow]")
    return pa.chunked_array(values.array._pa_array).cast(pa.large_string())


def _to_pandas(array: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array.cast(pa.large_string())), index=index)


def normalise_phone_slow(raw: object) -> tuple[str | None, str | None]:
    """The same decision for one value, with ``phonenumbers`` parsing every row.

    The reference the fast path is tested and benchmarked against: (phone, None) or (None, reason).
    """
    text = "" if raw is None or pd.isna(raw) else str(raw).strip()
    if not text:
        return None, MISSING_PHONE
    if not ALLOWED_TEXT.match(text):
        return None, INVALID_PHONE
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0084"):
        digits = digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = digits[2:]
    national = digits[1:] if digits.startswith("0") else digits
    if len(national) == NATIONAL_LENGTH + 1 and national[:3] in OLD_TO_NEW_PREFIX:
        national = OLD_TO_NEW_PREFIX[national[:3]] + national[3:]
    if len(national) != NATIONAL_LENGTH or national.startswith("0"):
        return None, INVALID_PHONE
    try:
        number = phonenumbers.parse("0" + national, "VN")
    except phonenumbers.NumberParseException:
        return None, INVALID_PHONE
    if not is_valid_vn_mobile(number):
        return None, NOT_MOBILE
    return "0" + str(number.national_number), None
