"""Standard Webhooks signatures (https://www.standardwebhooks.com): verify before parsing.

Framework-free on purpose: it takes the raw body bytes and a header mapping, so the same code
checks a Flask request, a spooled delivery or a test vector. The signed content is
``{webhook-id}.{webhook-timestamp}.{body}``; ``webhook-signature`` holds one or more
space-separated ``v1,<base64 HMAC-SHA256>`` entries (several during a secret rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
DEFAULT_TOLERANCE_SECONDS = 5 * 60
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class WebhookVerificationError(Exception):
    """The delivery is not signed by a holder of the secret, or not recently."""


class Webhook:
    """A signing secret (``whsec_<base64>``, or the bare base64) that signs and verifies deliveries."""

    def __init__(self, secret: str, *, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        # Padding is optional, as in the reference library: secrets are often copied without their '='.
        encoded = secret.strip().removeprefix(SECRET_PREFIX).rstrip("=")
        try:
            self._key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error as err:
            raise ValueError("a signing secret must be base64, optionally after 'whsec_'") from err
        if not self._key:
            raise ValueError("a signing secret must not be empty")
        self.tolerance_seconds = tolerance_seconds

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``v1,<base64>`` signature of one delivery."""
        signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
        digest = hmac.new(self._key, signed, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Raise ``WebhookVerificationError`` unless ``headers`` carry a valid, fresh signature of ``body``.

        ``headers`` must look names up case-insensitively (Werkzeug's do) or use lower-case keys.
        """
        msg_id = headers.get(HEADER_ID)
        timestamp_text = headers.get(HEADER_TIMESTAMP)
        signature_header = headers.get(HEADER_SIGNATURE)
        if not msg_id or not timestamp_text or not signature_header:
            raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
        try:
            timestamp = int(timestamp_text)
        except ValueError as err:
            raise WebhookVerificationError("webhook-timestamp is not an integer") from err
        now = time.time() if now is None else now
        # Both directions: an old timestamp is a replay, one far ahead a clock or forging problem.
        if timestamp < now - self.tolerance_seconds:
            raise WebhookVerificationError("webhook-timestamp is too old")
        if timestamp > now + self.tolerance_seconds:
            raise WebhookVerificationError("webhook-timestamp is too new")

        expected = self.sign(msg_id, timestamp, body).split(",", 1)[1].encode()
        for candidate in signature_header.split(" "):
            version, _, value = candidate.partition(",")
            # Constant-time: the comparison must not tell an attacker how many bytes were right.
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                return
        raise WebhookVerificationError("no matching v1 signature")
