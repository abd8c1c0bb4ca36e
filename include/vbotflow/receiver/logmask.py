"""Keep secrets and phone numbers out of logs: ``?token=...`` becomes ``?token=***``, phones ``09******78``."""

from __future__ import annotations

import logging
import re
import traceback

from vbotflow.privacy.masking import mask_phones_in_text

_TOKEN_IN_URL = re.compile(r"((?:^|[?&;\s])token=)[^&;\s\"]*", re.IGNORECASE)


def mask_token(text: str) -> str:
    """``POST /webhooks/vbot?token=s3cret&x=1`` → ``POST /webhooks/vbot?token=***&x=1``."""
    return _TOKEN_IN_URL.sub(r"\1***", text)


class TokenMaskingFilter(logging.Filter):
    """A log filter that masks tokens in the formatted message (Werkzeug's request log, ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_token(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def log_failure(logger: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled with its traceback, phones and tokens masked.

    A database error can quote the failing row (PostgreSQL's DETAIL), and so a delivery's phones.
    """
    logger.error(message + "\n%s", *args, mask_phones_in_text(mask_token(traceback.format_exc())))
