"""VBot's loosely typed values: call durations and amounts of money, in every form the API documents.

The auto-call result (vbot-api.md 2b) sends ``time_call`` as an Int and ``postage``/``service_charge``
as Doubles; the call history (2a, also what ``historycall/getAll`` answers) sends them as Strings,
durations sometimes as a clock (``"00:00:35"``). The receiver and the history backfill read them
through these two functions, so one call is worth the same whichever way it reached us.

Both are total: an unreadable value gives None (the caller keeps the raw text), never an exception.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_DURATION_SECONDS = 2**31 - 1
# NUMERIC(16, 2): anything at or above 10^14 would not fit; 10^13 đồng is already absurd for a call.
MAX_MONEY = Decimal("1e13")
CENT = Decimal("0.01")
_CLOCK = re.compile(r"^(?:(\d{1,6}):)?(\d{1,2}):(\d{1,2})$")  # [H:]MM:SS


def parse_duration_seconds(value: object) -> int | None:
    """Seconds of a call from ``35``, ``35.0``, ``"35"``, ``"00:00:35"`` or ``"0:35"``; None when unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return value if 0 <= value <= MAX_DURATION_SECONDS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = int(text)
        return seconds if seconds <= MAX_DURATION_SECONDS else None
    match = _CLOCK.match(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    if minutes >= 60 or seconds >= 60:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return total if total <= MAX_DURATION_SECONDS else None


def parse_money(value: object) -> Decimal | None:
    """An amount in đồng with two decimals, from a Double (``770.1``) or a String (``"770.10"``).

    A float is read by its shortest decimal text (``0.1 + 0.2`` → ``0.30``), never by its binary
    value. Text with a comma is refused (``"1,100"``: a thousands separator or a decimal comma?), as
    are booleans, NaN and infinities.
    """
    if isinstance(value, bool) or value is None or not isinstance(value, int | float | str | Decimal):
        return None
    text = str(value).strip()
    if not text or "," in text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= MAX_MONEY:
        return None
    return amount.quantize(CENT)
