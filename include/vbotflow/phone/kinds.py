"""The oracle: what ``phonenumbers`` says a Vietnamese national number is (mobile, another kind, invalid)."""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberType

from vbotflow.phone.rules import COUNTRY_CODE, NATIONAL_LENGTHS

MOBILE = "mobile"
PREFIX_DIGITS = 4
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_KIND_WORDS = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "service (UAN)",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def kind_of(number: phonenumbers.PhoneNumber) -> str | None:
    """``'mobile'``, the words for another kind of valid Vietnamese number, or None when invalid.

    Only ``number_type`` is asked: for +84, whose one region is VN, it is UNKNOWN exactly when
    ``is_valid_number_for_region(number, "VN")`` is false (both match the same metadata; a test
    checks), and asking once halves the cost.
    """
    if number.country_code != int(COUNTRY_CODE):
        return None
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    return MOBILE if kind in _MOBILE_TYPES else _KIND_WORDS.get(kind, "non-mobile")


@cache
def national_kind(prefix: str, length: int) -> str | None:
    """``kind_of`` every national number of ``length`` digits that starts with ``prefix``.

    Asked once per distinct (first four digits, length) of a column rather than once per row:
    every Vietnamese pattern in phonenumbers' metadata is a prefix of at most four digits
    followed by free digits (a property test checks it), so one number stands for them all.
    """
    if length not in NATIONAL_LENGTHS or prefix.startswith("0"):
        return None
    national = int(prefix[:PREFIX_DIGITS].ljust(length, "0"))
    return kind_of(phonenumbers.PhoneNumber(country_code=int(COUNTRY_CODE), national_number=national))
