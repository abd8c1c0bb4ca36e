"""Values as the console shows them: Vietnam time, durations, rates and đồng in a reader's notation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from vbotflow.store.money import format_vnd
from vbotflow.vbot.timestamps import VIETNAM

__all__ = ["as_utc", "format_count", "format_duration", "format_rate", "format_vnd", "vietnam_time"]


def as_utc(moment: datetime | None) -> datetime | None:
    """Timestamps come back naive from SQLite; they are stored in UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def vietnam_time(moment: datetime | None) -> str:
    """``2026-11-26 08:30:05`` in Vietnam time (every schedule and calling window is Vietnam time)."""
    moment = as_utc(moment)
    return "" if moment is None else moment.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def format_count(value: int | None) -> str:
    """``12345`` → ``12.345`` (the thousands separator of the đồng amounts beside it)."""
    return f"{value or 0:,}".replace(",", ".")


def format_rate(rate: Decimal | float | None) -> str:
    """``0.4231`` → ``42,3 %``; no calls → an en dash."""
    if rate is None:
        return "–"
    return f"{Decimal(str(rate)) * 100:.1f}".replace(".", ",") + " %"


def format_duration(seconds: int | Decimal | float | None) -> str:
    """``3725`` → ``1 h 02 min 05 s``; ``65`` → ``1 min 05 s``; ``7`` → ``7 s``."""
    total = int(round(float(seconds or 0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def json_ready(value: Any) -> Any:
    """Dates and times as ISO text (UTC for times), Decimals as strings: exact, and JSON."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
