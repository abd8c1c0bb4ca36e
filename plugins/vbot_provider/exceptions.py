"""Errors of the VBot client: permanent, transient or ambiguous."""

from __future__ import annotations


class VBotError(Exception):
    """A call to VBot did not give the answer asked for."""

    def __init__(self, message: str, *, error_code: int | None = None, http_status: int | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.http_status = http_status


class VBotPermanentError(VBotError):
    """VBot refused the request (error 201, HTTP 4xx): sending it again gives the same answer."""


class VBotTransientError(VBotError):
    """VBot failed or was unreachable and created nothing (error 400, HTTP 5xx/408/429): may retry."""


class VBotAmbiguousError(VBotError):
    """The body may have reached VBot but no answer came: the campaign may exist. Never re-sent."""
