"""Đồng formatted for a Vietnamese reader."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vbotflow.store.money import format_vnd


@pytest.mark.parametrize(("amount", "text"), [
    (295910, "295.910 ₫"),
    (Decimal("295910.00"), "295.910 ₫"),
    ("1234567.89", "1.234.567,89 ₫"),
    (Decimal("12.5"), "12,50 ₫"),
    (0, "0 ₫"),
    (None, "0 ₫"),
    (-1000, "-1.000 ₫"),
    (Decimal("0.004"), "0 ₫"),
    (Decimal("999.995"), "1.000 ₫"),
])
def test_format_vnd(amount, text) -> None:
    assert format_vnd(amount) == text
