"""The Airflow UI shows times in ``VBOTFLOW_UI_TIMEZONE`` (e.g. Asia/Ho_Chi_Minh) until a user picks another.

Airflow 3 removed ``[webserver] default_ui_timezone``: its UI shows times in the browser's time zone
unless the user chose one (User → Timezone, kept in the browser's localStorage under ``timezone``).
A browser on a UTC server or laptop then shows "Next run 01:30" beside a "30 8 * * *" Vietnam
schedule. This plugin adds one line of script to the UI's page that stores the configured zone as
that choice when the browser has none yet, so the user's own choice always wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow.plugins_manager import AirflowPlugin

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ENV_VAR = "VBOTFLOW_UI_TIMEZONE"
STORAGE_KEY = "timezone"  # the key Airflow's UI reads its time zone from
# Paths that never serve the UI's HTML page: left alone, never buffered.
_NOT_THE_PAGE = ("/api/", "/execution/", "/static/", "/auth/", "/ui/", "/pluginsv2/", "/mcp")


def default_script(timezone: str) -> bytes:
    """The script that makes ``timezone`` the browser's choice unless it has one."""
    key, value = json.dumps(STORAGE_KEY), json.dumps(json.dumps(timezone))
    return (f"<script>try{{if(!localStorage.getItem({key}))localStorage.setItem({key},{value})}}"
            "catch(e){}</script>").encode()


class DefaultUITimezone:
    """ASGI middleware: puts ``default_script`` into the head of the UI's HTML page."""

    def __init__(self, app: ASGIApp, timezone: str) -> None:
        self.app = app
        self.script = default_script(timezone)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope["path"].startswith(_NOT_THE_PAGE):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_script(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"text/html") \
                        or headers.get(b"content-encoding"):
                    start = None
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + self.script, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_with_script)


def configured_timezone() -> str | None:
    """``VBOTFLOW_UI_TIMEZONE`` if it names a real IANA zone; unset or empty: None."""
    name = os.environ.get(ENV_VAR, "").strip()
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"{ENV_VAR}={name!r} is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)") from err
    return name


def _middlewares() -> list[dict[str, Any]]:
    timezone = configured_timezone()
    if timezone is None:
        return []
    return [{"name": "vbotflow_default_ui_timezone", "middleware": DefaultUITimezone,
             "kwargs": {"timezone": timezone}}]


class VBotflowUIPlugin(AirflowPlugin):
    """vbotflow's additions to the Airflow UI (registered by the ``airflow.plugins`` entry point)."""

    name = "vbotflow_ui"
    fastapi_root_middlewares = _middlewares()
