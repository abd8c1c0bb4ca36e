"""Keep the webhook token out of access logs: ``?token=...`` becomes ``?token=***``."""

from __future__ import annotations

import logging
import re

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
