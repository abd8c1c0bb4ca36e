"""Extract a campaign's call list from the CRM: the config's SQL file with bound parameters only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.campaigns.config import CampaignConfig

CHUNK_ROWS = 50_000


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
        for frame in pd.read_sql(statement, conn, params=used, chunksize=chunk_rows):
            if limit is not None and rows + len(frame) >= limit:
                frames.append(frame.iloc[: limit - rows])
                break
            frames.append(frame)
            rows += len(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
