"""Extract a campaign's call list from the CRM: the config's SQL file with bound parameters only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.campaigns.config import CampaignConfig

CHUNK_ROWS = 50_000
# Result column type codes of 4-byte floats (PostgreSQL real/float4, MySQL/MariaDB FLOAT): 24 bits
# of mantissa keep 7 digits, so a phone number comes back rounded — someone else's number.
_SINGLE_PRECISION = {"postgresql": {700: "real (float4)"}, "mysql": {4: "FLOAT"}, "mariadb": {4: "FLOAT"}}


class PhoneColumnTypeError(ValueError):
    """The CRM hands the phone column over in a type that cannot hold a phone number's digits."""


def sql_parameters(config: CampaignConfig, run_date: date, interval_start: datetime | None = None,
                   interval_end: datetime | None = None) -> dict[str, Any]:
    """The values bound into the SQL: run date, data interval, and the config's day offsets."""
    params: dict[str, Any] = {
        "run_date": run_date,
        "data_interval_start": interval_start,
        "data_interval_end": interval_end,
    }
    for name, days in config.sql_params.items():
        params[name] = run_date + timedelta(days=days)
    return params


def extract(engine: Engine, config: CampaignConfig, params: dict[str, Any], *, limit: int | None = None,
            chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Run the config's SQL (bound parameters, read in chunks); at most ``limit`` rows."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    statement = sa.text(config.sql_file.read_text(encoding="utf-8"))
    # Bind only what the SQL names: drivers refuse extra parameters. (A ":name" inside an SQL comment
    # counts as a parameter too, so the shipped SQL files name parameters in comments without the colon.)
    wanted = set(statement.compile().params)
    unknown = wanted - set(params)
    if unknown:
        raise ValueError(f"{config.sql_file.name} uses parameter(s) {', '.join(sorted(unknown))} that are not "
                         f"defined (defined: {', '.join(sorted(params))}; add day offsets under sql_params)")
    used = {k: v for k, v in params.items() if k in wanted}
    frames: list[pd.DataFrame] = []
    rows = 0
    with engine.connect() as conn:
        described: list = []
        sa.event.listen(conn, "after_cursor_execute",
                        lambda _c, cursor, *_: described.append(cursor.description or ()))
        for frame in pd.read_sql(statement, conn, params=used, chunksize=chunk_rows):
            if not frames:
                _check_phone_type(config, engine.dialect.name, described[-1] if described else ())
            if limit is not None and rows + len(frame) >= limit:
                frames.append(frame.iloc[: limit - rows])
                break
            frames.append(frame)
            rows += len(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _check_phone_type(config: CampaignConfig, dialect: str, description: tuple) -> None:
    """Refuse a phone column of 4-byte floats: every 9- or 10-digit number in it is already rounded."""
    lossy = _SINGLE_PRECISION.get(dialect, {})
    for column in description:
        if column[0] == config.columns.phone and column[1] in lossy:
            raise PhoneColumnTypeError(
                f"{config.sql_file.name}: the phone column {column[0]!r} arrives as {lossy[column[1]]}, a 4-byte "
                "floating-point type that keeps only about 7 digits: its phone numbers are already rounded to "
                "other people's numbers. Store phones as text (VARCHAR) or BIGINT in the CRM; nothing was sent.")
