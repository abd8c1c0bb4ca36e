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
import binascii
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
_BASE64ISH = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _is_token_name(name: str) -> bool:
    return unquote_plus(name).strip().lower() == "token"


def mask_token(text: str) -> str:
    """``POST /webhooks/vbot?token=s3cret&x=1`` → ``POST /webhooks/vbot?token=***&x=1`` (also ``?to%6Ben=``)."""
    if "=" not in text:
        return text
    return _QUERY_PAIR.sub(lambda m: m.group(1) + REDACTED if _is_token_name(m.group(2)) else m.group(0), text)


def _decodings(word: str) -> Iterable[str]:
    """What ``word`` may stand for: percent-decoded (twice, for double encoding), base64-decoded."""
    if "%" in word or "+" in word:
        once = unquote_plus(word)
        yield once
        yield unquote(once)
    for candidate in _BASE64ISH.findall(word):
        padded = candidate + "=" * (-len(candidate) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(padded).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pass


class SecretRedactor(logging.Filter):
    """A log filter that removes configured secrets from every finished line, in any encoding.

    Attach it to the handlers that write files or streams: it then sees every record, whichever
    logger made it. Also masks ``token=`` query values.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        text = mask_token(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if self.secrets:
            text = _WORD.sub(self._redact_word, text)
        return text

    def _redact_word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        for decoded in _decodings(word):
            if any(secret in decoded for secret in self.secrets):
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
