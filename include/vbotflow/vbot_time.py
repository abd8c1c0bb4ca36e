"""VBot's timestamps: ``MM/dd/yyyy HH:mm:ss`` or ISO 8601, Vietnam time unless a zone is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

# Vietnam has had no daylight saving time since 1975: a fixed offset is exact for VBot's era and
# needs no tz database on the receiver's host.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
_VBOT_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")


def parse_vbot_time(text: str) -> datetime:
    """An aware UTC datetime from VBot's text; raise ``ValueError`` when it is neither format."""
    value = text.strip()
    parsed: datetime | None = None
    for fmt in _VBOT_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - the zone is set below
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as err:
            raise ValueError(f"not a date in MM/dd/yyyy HH:mm:ss or ISO 8601: {value[:40]!r}") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VIETNAM)
    return parsed.astimezone(UTC)
