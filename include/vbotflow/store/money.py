"""Money: VND with two decimals in the database, summed in integer hundredths so SQLite stays exact too."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

MONEY = sa.Numeric(16, 2)


def hundredths(money: ColumnElement) -> ColumnElement:
    """Money as integer hundredths of a đồng: sums stay exact even where NUMERIC is a float (SQLite)."""
    return sa.cast(sa.func.round(money * 100), sa.BigInteger)
