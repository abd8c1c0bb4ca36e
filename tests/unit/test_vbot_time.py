from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vbotflow.vbot.timestamps import parse_vbot_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11/26/2026 09:15:00", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),  # no zone: Vietnam, UTC+7
        ("01/01/2027 03:00:00", datetime(2026, 12, 31, 20, 0, tzinfo=UTC)),  # crosses midnight and a year
        ("11/26/2026 09:15", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),
        ("2026-11-26T09:15:00", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),
        ("2026-11-26 09:15:00.250", datetime(2026, 11, 26, 2, 15, 0, 250000, tzinfo=UTC)),
        ("2026-11-26T02:15:00Z", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),
        ("2026-11-26T11:15:00+09:00", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),
        ("  11/26/2026 09:15:00 ", datetime(2026, 11, 26, 2, 15, tzinfo=UTC)),
        ("1/2/2026 9:05:07", datetime(2026, 1, 2, 2, 5, 7, tzinfo=UTC)),  # fields not at full width
    ],
)
def test_vbot_times_become_utc(text: str, expected: datetime) -> None:
    parsed = parse_vbot_time(text)
    assert parsed == expected
    assert parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", ["26/11/2026 09:15:00", "hôm qua", "", "2026-13-01T00:00:00", "11/26/26 09:15",
                                  "02/30/2026 10:00:00", "11/26/2026 24:00:00", "11/26/2026 09:15:60",
                                  "11/26/2026 ０9:15:00"])
def test_other_texts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date in MM/dd/yyyy HH:mm:ss or ISO 8601"):
        parse_vbot_time(text)
