"""One delivery exactly as it reached the receiver: the unit that is stored, spooled and replayed."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SPOOL_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Delivery:
    """What arrived, before any parsing: body bytes, headers (secrets removed), peer and time (UTC)."""

    received_at: datetime
    endpoint: str
    body: bytes
    headers: dict[str, str]
    remote_addr: str | None

    def to_json(self) -> str:
        """One spool record; the body goes as base64 because it may not be valid UTF-8."""
        return json.dumps({
            "version": SPOOL_FORMAT_VERSION,
            "received_at": self.received_at.isoformat(),
            "endpoint": self.endpoint,
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "headers": self.headers,
            "remote_addr": self.remote_addr,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        data: dict[str, Any] = json.loads(text)
        if data.get("version") != SPOOL_FORMAT_VERSION:
            raise ValueError(f"unknown spool format version {data.get('version')!r}")
        return cls(
            received_at=datetime.fromisoformat(data["received_at"]),
            endpoint=data["endpoint"],
            body=base64.b64decode(data["body_b64"]),
            headers=dict(data["headers"]),
            remote_addr=data.get("remote_addr"),
        )
