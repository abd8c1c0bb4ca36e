"""SQL pieces shared by the reconciliation steps (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from vbotflow.vbot.status import STATUS_CLASSES, UNKNOWN_CLASS


def status_class_case(code: ColumnElement) -> ColumnElement:
    """``STATUS_CLASSES`` as a CASE expression: one source of truth for Python and SQL."""
    return sa.case(*((code == c, sa.literal(k)) for c, k in STATUS_CLASSES.items()), else_=sa.literal(UNKNOWN_CLASS))


def domestic_phone(digits: ColumnElement) -> ColumnElement:
    """VBot echoes the numbers it was sent (``0xxxxxxxxx``); ``84…`` and a lost zero are put back."""
    length = sa.func.length(digits)
    return sa.case(
        (sa.and_(digits.like("84%"), length == 11), sa.literal("0") + sa.func.substr(digits, 3)),
        (sa.and_(digits.like("0084%"), length == 13), sa.literal("0") + sa.func.substr(digits, 5)),
        (length == 9, sa.literal("0") + digits),
        else_=digits,
    )
