"""SQL pieces shared by the reconciliation steps (portable across SQLite, PostgreSQL and MySQL/MariaDB)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from vbotflow.phone.rules import (
    COUNTRY_CODE,
    DOMESTIC_NATIONAL_LENGTHS,
    INTERNATIONAL_PREFIX,
    OLD_NATIONAL_LENGTH,
    OLD_TO_NEW_PREFIX,
    TRUNK_PREFIX,
)
from vbotflow.vbot.status import STATUS_CLASSES, UNKNOWN_CLASS


def status_class_case(code: ColumnElement) -> ColumnElement:
    """``STATUS_CLASSES`` as a CASE expression: one source of truth for Python and SQL."""
    return sa.case(*((code == c, sa.literal(k)) for c, k in STATUS_CLASSES.items()), else_=sa.literal(UNKNOWN_CLASS))


def _text(value: str) -> ColumnElement:
    return sa.literal(value, sa.String)


def domestic_phone(dialled: ColumnElement) -> ColumnElement:
    """The SQL twin of ``vbotflow.phone.rules.domestic_form`` over the receiver's phone column.

    VBot echoes the numbers it was sent (``0xxxxxxxxx``); ``+84…``, ``0084…``, ``84…`` at the
    lengths of a whole international number, a trunk zero after the country code, a lost zero
    and an old 11-digit number are put back into that form; another country's number is left as
    it is, so it matches no contact. A test holds it to ``domestic_form`` on every database.
    """
    length = sa.func.length(dialled)
    cc, idd, trunk = COUNTRY_CODE, INTERNATIONAL_PREFIX, TRUNK_PREFIX
    whole_international = length.in_([len(cc) + n for n in (9, 10, 11)])
    # Where the national number starts (1-based): after the country code and one trunk zero;
    # NULL when + or 00 introduce another country's code. One flat CASE: it is used several times.
    start = sa.case(
        (dialled.like(f"+{cc}{trunk}%"), 2 + len(cc) + 1),
        (dialled.like(f"+{cc}%"), 2 + len(cc)),
        (dialled.like(f"{idd}{cc}{trunk}%"), 1 + len(idd) + len(cc) + 1),
        (dialled.like(f"{idd}{cc}%"), 1 + len(idd) + len(cc)),
        (sa.or_(dialled.like("+%"), dialled.like(f"{idd}%")), sa.null()),
        (sa.and_(dialled.like(f"{cc}{trunk}%"), whole_international), 1 + len(cc) + 1),
        (sa.and_(dialled.like(f"{cc}%"), whole_international), 1 + len(cc)),
        (dialled.like(f"{trunk}%"), 2),
        else_=1,
    )
    new_head = sa.case({old: _text(new) for old, new in OLD_TO_NEW_PREFIX.items()},
                       value=sa.func.substr(dialled, start, 3), else_=sa.null())
    return sa.case(
        # The form VBot echoes, first: most rows end here.
        (sa.and_(length == 10, dialled.like(f"{trunk}%"), ~dialled.like(f"{trunk}{trunk}%")), dialled),
        # An 11-digit number of before 2018: its new prefix.
        (sa.and_(length - start + 1 == OLD_NATIONAL_LENGTH, new_head.is_not(None)),
         _text(trunk) + new_head + sa.func.substr(dialled, start + 3)),
        (sa.and_((length - start + 1).in_(DOMESTIC_NATIONAL_LENGTHS), sa.func.substr(dialled, start, 1) != trunk),
         _text(trunk) + sa.func.substr(dialled, start)),
        else_=dialled,
    )
