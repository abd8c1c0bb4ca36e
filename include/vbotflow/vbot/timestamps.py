"""Vietnam time: VBot's timestamps (``MM/dd/yyyy HH:mm:ss`` or ISO 8601, Vietnam time unless a zone is
given), and the Vietnam calendar days that campaign runs are dated by."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

# Vietnam has had no daylight saving time since 1975: a fixed offset is exact for VBot's era and
# needs no tz database on the receiver's host.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
_VBOT_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
# MM/dd/yyyy HH:mm:ss with every field at full width, ASCII digits only.
_VBOT_USUAL = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_vbot_time(text: str) -> datetime:
    """An aware UTC datetime from VBot's text; raise ``ValueError`` when it is neither format."""
    value = text.strip()
    if _VBOT_USUAL.fullmatch(value):
        # VBot's usual spelling read by slicing (the receiver's hot path; strptime costs ten times as
        # much); an impossible date falls through to strptime and its error.
        try:
            local = datetime(int(value[6:10]), int(value[0:2]), int(value[3:5]), int(value[11:13]),
                             int(value[14:16]), int(value[17:19]), tzinfo=VIETNAM)
        except ValueError:
            pass
        else:
            return local.astimezone(UTC)
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


def run_date_in_vietnam(moment: datetime) -> date:
    """The Vietnam calendar date of an instant (a DAG run's logical date is UTC).

    Always a plain ``date``: Airflow hands tasks pendulum datetimes, whose ``date()`` is pendulum's
    ``Date`` subclass, and sqlite3 refuses to bind that as a query parameter.
    """
    local = moment.astimezone(VIETNAM)
    return date(local.year, local.month, local.day)


def vietnam_days_in_utc(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding the Vietnam calendar days ``date_from``..``date_to`` (end exclusive)."""
    start = datetime.combine(date_from, time(), tzinfo=VIETNAM).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(), tzinfo=VIETNAM).astimezone(UTC)
    return start, end


def today_in_vietnam(now: datetime | None = None) -> date:
    """Today's date in Vietnam (the day a campaign run may send)."""
    return run_date_in_vietnam(now or datetime.now(VIETNAM))
