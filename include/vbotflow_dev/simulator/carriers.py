"""Which Vietnamese carrier a domestic number belongs to, as VBot must know to route a call."""

from __future__ import annotations

import re

# Mobile prefixes after the 2018 conversion to 10 digits, by carrier.
_MOBILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "viettel": ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"),
    "vinaphone": ("081", "082", "083", "084", "085", "088", "091", "094"),
    "mobifone": ("070", "076", "077", "078", "079", "089", "090", "093"),
    "vietnamobile": ("052", "056", "058", "092"),
    "gmobile": ("059", "099"),
    "itel": ("087",),
    "reddi": ("055",),
}
_CARRIER_BY_PREFIX = {prefix: carrier for carrier, prefixes in _MOBILE_PREFIXES.items() for prefix in prefixes}
_MOBILE = re.compile(r"0\d{9}")
_LANDLINE = re.compile(r"02\d{9}")  # 02 + area code + subscriber: 11 digits


def carrier_of(phone: str) -> str | None:
    """The carrier of a number in VBot's domestic form (``0xxxxxxxxx``); None if no carrier uses it."""
    if _LANDLINE.fullmatch(phone):
        return "landline"
    if _MOBILE.fullmatch(phone):
        return _CARRIER_BY_PREFIX.get(phone[:3])
    return None
