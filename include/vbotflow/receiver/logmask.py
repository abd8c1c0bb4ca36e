"""Keep secrets and phone numbers out of logs: ``?token=...`` becomes ``?token=***``, phones ``09******78``.

Two layers. ``mask_token`` hides the value of a ``token`` query parameter however its name is
spelled (``token``, ``TOKEN``, ``to%6Ben``). ``SecretRedactor`` is the last word before a line is
written: it knows the configured secrets and removes them from the finished line (message and
traceback) in whatever form a sender put them there — as sent, percent-encoded, or base64 as in
``Authorization: Basic`` — so no request, however malformed, can have a server quote a token
into a log.
"""

from __future__ import annotations

import base64
import logging
import re
import traceback
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

from vbotflow.privacy.masking import mask_phones_in_text

REDACTED = "***"
WITHHELD = "[withheld: held a secret]"
_QUERY_PAIR = re.compile(r"((?:^|[?&;\s])([^=&;\s\"'?]+)=)([^&;\s\"']*)")
# Where one "word" of a log line ends: whitespace, quotes, and the separators of a URL or header.
_WORD = re.compile(r"[^\s\"'\[\]()<>,]+")


def _is_token_name(name: str) -> bool:
    return unquote_plus(name).strip().lower() == "token"


def mask_token(text: str) -> str:
    """``POST /webhooks/vbot?token=s3cret&x=1`` → ``POST /webhooks/vbot?token=***&x=1`` (also ``?to%6Ben=``)."""
    if "=" not in text:
        return text
    return _QUERY_PAIR.sub(lambda m: m.group(1) + REDACTED if _is_token_name(m.group(2)) else m.group(0), text)


def _base64_needles(secret: str) -> set[str]:
    """Text that any base64 encoding of a string holding ``secret`` must contain, whatever the bytes around it.

    Base64 turns 3 bytes into 4 characters; the secret may start at any of 3 offsets in a group,
    and only the groups made of its own bytes alone are certain: one needle per offset and alphabet.
    """
    raw = secret.encode()
    needles = set()
    for offset in range(3):
        inner = raw[(3 - offset) % 3:]
        inner = inner[:len(inner) - len(inner) % 3]
        if len(inner) >= 3:
            needles.add(base64.b64encode(inner).decode())
            needles.add(base64.urlsafe_b64encode(inner).decode())
    return needles


class SecretRedactor(logging.Filter):
    """A log filter that removes configured secrets from every finished line, in any encoding.

    Attach it to the handlers that write files or streams: it then sees every record, whichever
    logger made it. Also masks ``token=`` query values. A line with no trace of a secret costs a
    few substring searches: the word by word look only runs when a line holds a ``%`` escape or
    what a base64 encoding of a secret must contain.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._needles = tuple({needle for secret in self.secrets for needle in _base64_needles(secret)})

    def redact(self, text: str) -> str:
        text = mask_token(text)
        if not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "%" in text or any(needle in text for needle in self._needles):
            text = _WORD.sub(self._redact_word, text)
        return text

    def _holds_a_secret(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets) or any(needle in text for needle in self._needles)

    def _redact_word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        if self._holds_a_secret(word):
            return WITHHELD
        if "%" in word:
            once = unquote_plus(word)
            if self._holds_a_secret(once) or self._holds_a_secret(unquote(once)):
                return WITHHELD
        return word

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class TokenMaskingFilter(SecretRedactor):
    """Werkzeug's request log and ours (the development server): the same redaction."""


def configured_secrets(tokens: Iterable[str], signing_secret: str | None) -> list[str]:
    """Every string that must never be logged: the webhook tokens and the signing secret (with and without prefix)."""
    secrets = [token for token in tokens if token]
    if signing_secret:
        secrets += [signing_secret, signing_secret.removeprefix("whsec_")]
    return secrets


def log_failure(logger: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled with its traceback, phones and tokens masked.

    A database error can quote the failing row (PostgreSQL's DETAIL), and so a delivery's phones.
    """
    logger.error(message + "\n%s", *args, mask_phones_in_text(mask_token(traceback.format_exc())))
