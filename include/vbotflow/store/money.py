"""Money: VND with two decimals in the database, summed in integer hundredths so SQLite stays exact too."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

MONEY = sa.Numeric(16, 2)


def hundredths(money: ColumnElement) -> ColumnElement:
    """Money as integer hundredths of a đồng: sums stay exact even where NUMERIC is a float (SQLite)."""
    return sa.cast(sa.func.round(money * 100), sa.BigInteger)


def format_vnd(amount: Decimal | int | float | str | None) -> str:
    """Đồng as a Vietnamese reader writes them: ``295910`` → ``295.910 ₫``, ``12.5`` → ``12,50 ₫``."""
    value = Decimal(0) if amount is None else Decimal(str(amount))
    cents = int((abs(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))
    whole, fraction = divmod(cents, 100)
    text = f"{whole:,}".replace(",", ".")
    if fraction:
        text += f",{fraction:02d}"
    return f"{'-' if value < 0 and cents else ''}{text} ₫"
