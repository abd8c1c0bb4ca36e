"""Finding one person's number in free text and raw bodies, in every way it can be written.

``0912 345 678``, ``+84 91 234 5678``, ``84912345678``, ``0084912345678``, ``(091) 234-5678``, the
lost leading zero ``912345678`` and, for numbers that had one, the 11-digit form retired in 2018
(``01629…`` for ``0329…``): each is the same number, and an erasure must find them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from vbotflow.phone.rules import MOBILE_NATIONAL_LENGTH as NATIONAL_LENGTH
from vbotflow.phone.rules import OLD_TO_NEW_PREFIX, SEPARATORS

# What people put between digits: the phone rules' separators (Unicode spaces, dashes, zero-width
# marks, punctuation). Raw bytes are searched with their ASCII part: other separators are
# multi-byte in UTF-8, and JSON bodies escape them anyway.
_SEPARATORS = "[" + re.escape(SEPARATORS) + "]*"
_ASCII_SEPARATORS = "[" + re.escape("".join(c for c in SEPARATORS if c.isascii())) + "]*"
_NEW_TO_OLD_PREFIX = {new: old for old, new in OLD_TO_NEW_PREFIX.items()}


def national_forms(phone: str) -> list[str]:
    """The national digits of a domestic number ``0xxxxxxxxx``: today's, and the pre-2018 one if any."""
    if len(phone) != NATIONAL_LENGTH + 1 or not phone.startswith("0") or not phone.isdigit():
        raise ValueError("expected a normalised domestic number (0 and nine digits)")
    national = phone[1:]
    forms = [national]
    old = _NEW_TO_OLD_PREFIX.get(national[:2])
    if old:
        forms.append(old + national[2:])
    return forms


def spelling_pattern(phones: Iterable[str], separators: str = _SEPARATORS) -> str:
    """A regex (str) for every spelling of the given normalised numbers, never inside a longer number."""
    bodies = []
    for phone in sorted(set(phones)):
        bodies += [separators.join(form) for form in national_forms(phone)]
    if not bodies:
        return r"(?!)"  # matches nothing
    prefix = rf"(?:(?:\+|00)?84{separators}(?:\(?0\)?{separators})?|\(?0{separators})?"
    return rf"(?<!\d){prefix}(?:{'|'.join(bodies)})(?!\d)"


class PhoneFinder:
    """Every spelling of a set of numbers, in text and in bytes."""

    def __init__(self, phones: Iterable[str]) -> None:
        self.phones = frozenset(phones)
        self._text = re.compile(spelling_pattern(self.phones))
        self._bytes = re.compile(spelling_pattern(self.phones, _ASCII_SEPARATORS).encode("ascii"))

    def found_in(self, value: object) -> bool:
        if isinstance(value, bytes | bytearray):
            return bool(self._bytes.search(value))
        return value is not None and bool(self._text.search(str(value)))

    def sub(self, replace: Callable[[str], str], text: str) -> str:
        """``text`` with every spelling of the numbers replaced by ``replace(spelling)``."""
        return self._text.sub(lambda m: replace(m.group(0)), text)


# Any phone-looking run of digits (8 or more, separators allowed): what retention pseudonymises in
# the phone fields of a webhook body, where no particular number is known.
PHONE_LIKE = re.compile(r"\+?\d(?:[\s.\-()]?\d){7,}")
