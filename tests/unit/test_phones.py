"""Vietnamese phone normalisation: a table of nasty inputs, and the fast path against phonenumbers."""

from __future__ import annotations

import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbotflow.campaigns.phones import (
    INVALID_PHONE,
    MISSING_PHONE,
    NOT_MOBILE,
    OLD_TO_NEW_PREFIX,
    normalise_phone_slow,
    normalise_phones,
)

CASES = [
    ("0912345678", "0912345678", None),
    ("0912 345 678", "0912345678", None),
    ("  0912.345.678  ", "0912345678", None),
    ("091-234-5678", "0912345678", None),
    ("(091) 234 5678", "0912345678", None),
    ("091/234/5678", "0912345678", None),
    ("+84912345678", "0912345678", None),
    ("+84 91 234 5678", "0912345678", None),
    ("84912345678", "0912345678", None),
    ("0084912345678", "0912345678", None),
    ("0084 91 234 5678", "0912345678", None),
    ("+84 0912345678", "0912345678", None),
    ("912345678", "0912345678", None),  # leading zero lost in a spreadsheet
    ("842345678", "0842345678", None),  # lost zero of an 084 number, not a country code
    ("01689123456", "0389123456", None),  # Viettel 0168 → 038
    ("0162 123 4567", "0321234567", None),
    ("+84 1689123456", "0389123456", None),
    ("841689123456", "0389123456", None),
    ("1689123456", "0389123456", None),  # old number, zero lost
    ("0120 123 4567", "0701234567", None),  # MobiFone 0120 → 070
    ("01211234567", "0791234567", None),
    ("01221234567", "0771234567", None),
    ("01261234567", "0761234567", None),
    ("01281234567", "0781234567", None),
    ("0123 456 7890", "0834567890", None),  # VinaPhone 0123 → 083
    ("01241234567", "0841234567", None),
    ("01251234567", "0851234567", None),
    ("01271234567", "0811234567", None),
    ("01291234567", "0821234567", None),
    ("0186 123 4567", "0561234567", None),  # Vietnamobile 0186 → 056
    ("01881234567", "0581234567", None),
    ("0199 123 4567", "0591234567", None),  # Gmobile 0199 → 059
    ("0561234567", "0561234567", None),
    ("", None, MISSING_PHONE),
    ("   ", None, MISSING_PHONE),
    (None, None, MISSING_PHONE),
    ("không có", None, INVALID_PHONE),
    ("0912abc678", None, INVALID_PHONE),
    ("0912345678 ext 12", None, INVALID_PHONE),
    ("09123", None, INVALID_PHONE),
    ("091234567890", None, INVALID_PHONE),
    ("0912-34", None, INVALID_PHONE),
    ("01301234567", None, INVALID_PHONE),  # 11 digits with no 2018 mapping
    ("0241234567", None, NOT_MOBILE),  # Hà Nội landline
    ("028 3822 1234", None, INVALID_PHONE),  # HCMC landline has 11 digits
    ("0112345678", None, NOT_MOBILE),
    ("0212345678", None, NOT_MOBILE),
    ("0080100000", None, INVALID_PHONE),  # a double zero: no national number starts with 0
]


@pytest.mark.parametrize(("raw", "phone", "reason"), CASES)
def test_nasty_inputs(raw, phone, reason) -> None:
    out = normalise_phones(pd.Series([raw], dtype=object))
    got_phone, got_reason = out.iloc[0]["phone"], out.iloc[0]["reject_reason"]
    assert (None if pd.isna(got_phone) else got_phone, None if pd.isna(got_reason) else got_reason) == (phone, reason)
    assert normalise_phone_slow(raw) == (phone, reason)


def test_numbers_typed_as_numbers_keep_their_digits() -> None:
    out = normalise_phones(pd.Series([912345678.0, None, 84912345678]))
    assert out["phone"].tolist()[0] == "0912345678"
    assert out["reject_reason"].tolist()[1] == MISSING_PHONE


def test_every_accepted_number_is_a_valid_vn_mobile_for_phonenumbers() -> None:
    nationals = [new + "1234567" for new in OLD_TO_NEW_PREFIX.values()] + ["912345678", "387654321"]
    out = normalise_phones(pd.Series(["0" + n for n in nationals]))
    assert out["reject_reason"].isna().all()
    for phone in out["phone"]:
        number = phonenumbers.parse(phone, "VN")
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


_digits = st.text(alphabet="0123456789", min_size=0, max_size=13)
_prefix = st.sampled_from(["", "0", "+84", "84", "0084", "+84 0", "01", "0016"])
_separators = st.sampled_from(["", " ", ".", "-"])


@st.composite
def phone_like(draw) -> str:
    body = draw(_prefix) + draw(_digits)
    sep = draw(_separators)
    if sep and len(body) > 4:
        cut = draw(st.integers(min_value=1, max_value=len(body) - 1))
        body = body[:cut] + sep + body[cut:]
    return body


@settings(max_examples=600, deadline=None)
@given(st.lists(phone_like(), min_size=1, max_size=40))
def test_fast_path_agrees_with_phonenumbers_row_by_row(raws: list[str]) -> None:
    fast = normalise_phones(pd.Series(raws, dtype=object))
    for raw, (phone, reason) in zip(raws, fast.itertuples(index=False), strict=True):
        expected = normalise_phone_slow(raw)
        assert (None if pd.isna(phone) else phone, None if pd.isna(reason) else reason) == expected, raw


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=100_000_000, max_value=999_999_999))
def test_any_nine_digit_national_number_is_decided_like_phonenumbers(national: int) -> None:
    raw = f"0{national}"
    fast = normalise_phones(pd.Series([raw]))
    number = phonenumbers.parse(raw, "VN")
    oracle = phonenumbers.is_valid_number_for_region(number, "VN") and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    assert pd.isna(fast.iloc[0]["reject_reason"]) == oracle
