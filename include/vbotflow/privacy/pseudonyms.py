"""Keyed pseudonyms and hashes: what stands in for a phone number or a CRM contact id once erased.

A phone pseudonym is ``000`` followed by 13 digits (16 characters, the width of the phone columns).
It is digits only, so everything that reads phones (the receiver's parser, reconciliation's
``domestic_phone``, the transform's integer matching) handles it unchanged, and it can never be a
real number: the normaliser only accepts ``0`` followed by a non-zero digit, and its integer value
(at least 10^12) is above every 10-digit number's. The same number always gets the same pseudonym
under the same key, so rows de-identified at different times still join (a contact, its call
attempts, its webhook events), and reconciliation and the KPIs give what they gave before.

The HMAC cannot be inverted; someone holding the key could only test a guessed number against it.
Keep the key secret and keep it the same: rows de-identified under another key no longer join.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.sql.elements import ColumnElement

from vbotflow.campaigns.phones import normalise_phone_slow

KEY_ENV = "VBOTFLOW_PRIVACY_KEY"
MIN_KEY_LENGTH = 16
PHONE_PREFIX = "000"
PHONE_LENGTH = 16
_PHONE_DIGITS = PHONE_LENGTH - len(PHONE_PREFIX)  # 13: the first never a zero
CONTACT_PREFIX = "erased:"


class PrivacyKeyError(RuntimeError):
    """The pseudonym key is missing or too short."""


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """The secret of every pseudonym and audit hash: ``VBOTFLOW_PRIVACY_KEY``."""
    value = (os.environ if environ is None else environ).get(KEY_ENV, "").strip()
    if not value:
        raise PrivacyKeyError(
            f"{KEY_ENV} is not set. Erasure and retention replace numbers by keyed pseudonyms and record "
            "a keyed hash of the person, so they need a secret key: set it to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_hex(32))', keep it secret, and keep the same "
            "value for every run. Nothing was changed.")
    if len(value) < MIN_KEY_LENGTH:
        raise PrivacyKeyError(f"{KEY_ENV} is shorter than {MIN_KEY_LENGTH} characters; use a long random "
                              "value. Nothing was changed.")
    return value.encode("utf-8")


def canonical_phone(value: object) -> str | None:
    """The domestic form ``0xxxxxxxxx`` of a Vietnamese mobile number in any spelling, else None."""
    phone, _ = normalise_phone_slow(value)
    return phone


def domestic_digits(digits: str) -> str:
    """``reconcile.sql.domestic_phone`` in Python: ``84…`` (11 digits), ``0084…`` (13) and a lost zero put back."""
    if digits.startswith("84") and len(digits) == 11:
        return "0" + digits[2:]
    if digits.startswith("0084") and len(digits) == 13:
        return "0" + digits[4:]
    if len(digits) == 9:
        return "0" + digits
    return digits


def is_phone_pseudonym(value: object) -> bool:
    text = "" if value is None else str(value)
    return (len(text) == PHONE_LENGTH and text.startswith(PHONE_PREFIX) and text.isdigit()
            and text[len(PHONE_PREFIX)] != "0")


def is_contact_pseudonym(value: object) -> bool:
    return str(value or "").startswith(CONTACT_PREFIX)


def phone_is_pseudonym(column: ColumnElement) -> ColumnElement[bool]:
    """SQL: the phone column holds a pseudonym (portable LIKE: ``000`` and 13 more characters)."""
    return column.like(PHONE_PREFIX + "_" * _PHONE_DIGITS)


def contact_is_pseudonym(column: ColumnElement) -> ColumnElement[bool]:
    return column.like(CONTACT_PREFIX + "%")


@dataclass(frozen=True)
class Pseudonymiser:
    """Stable keyed pseudonyms of phones and CRM contact ids, and keyed hashes for the audit."""

    key: bytes = field(repr=False)

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def phone(self, value: object) -> str:
        """The pseudonym of a number, the same for every spelling of it.

        Computed from the digits as reconciliation reads them (``reconcile.sql.domestic_phone``): a
        mobile number in any spelling is its ``0xxxxxxxxx`` form, anything else (a landline VBot
        echoed, a typo) its domestic digits, so a webhook event and the call attempt parsed from it
        always get the same pseudonym.
        """
        text = "" if value is None else str(value)
        if is_phone_pseudonym(text):
            return text
        digits = "".join(ch for ch in text if ch.isdigit())
        basis = canonical_phone(digits) or "digits:" + domestic_digits(digits)
        number = int.from_bytes(self._mac("phone", basis)[:8], "big") % (9 * 10 ** (_PHONE_DIGITS - 1))
        return f"{PHONE_PREFIX}{10 ** (_PHONE_DIGITS - 1) + number}"

    def contact_id(self, value: object) -> str:
        """The pseudonym of a CRM contact id (``erased:`` and 16 hex digits)."""
        text = "" if value is None else str(value)
        if is_contact_pseudonym(text):
            return text
        return CONTACT_PREFIX + self._mac("contact", text).hex()[:16]

    def subject_hash(self, identifier: str) -> str:
        """What the audit table records of a person: a keyed hash, never the identifier itself."""
        return self._mac("subject", identifier).hex()

    def phone_subject(self, phone: str) -> str:
        return self.subject_hash("phone:" + (canonical_phone(phone) or phone))
