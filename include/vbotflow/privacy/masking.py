"""Masking of personal data and secrets before anything reaches a log, an error, XCom or a preview."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")
# A run of 8+ digits, optionally with spaces/dots/dashes between them, optionally after a '+':
# what a phone number looks like inside free text.
_PHONE_IN_TEXT = re.compile(r"\+?\d(?:[\s.\-]?\d){7,}")
_WORD = re.compile(r"\w+")


def mask_phone(phone: object) -> str:
    """Keep the first two and last two digits: ``0912345678`` → ``09******78``."""
    text = "" if phone is None else str(phone)
    digits = _DIGITS.findall(text)
    if len(digits) <= 4:
        return "*" * len(text)
    return "".join(digits[:2]) + "*" * (len(digits) - 4) + "".join(digits[-2:])


def mask_phones_in_text(text: str) -> str:
    """Mask every phone-looking number inside free text (error messages, response bodies)."""
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def mask_text(value: object) -> str:
    """A name or custom field value, masked: words keep their first letter, numbers nothing.

    ``Nguyễn Văn An`` → ``N***** V** A*``, ``1500000`` → ``*******``, ``2026-12-01`` → ``****-**-**``:
    enough to see that a field is filled and mapped right, not what it says.
    """
    text = "" if value is None else str(value)
    return _WORD.sub(lambda m: "*" * len(m.group(0)) if m.group(0)[0].isdigit()
                     else m.group(0)[0] + "*" * (len(m.group(0)) - 1), text)
