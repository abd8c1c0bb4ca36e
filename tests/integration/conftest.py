"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="module")
def loopback_http() -> Iterator[HTTPServer]:
    """A threaded HTTP server on 127.0.0.1 for the module; tests clear it and set what it answers."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def vbot(loopback_http: HTTPServer) -> HTTPServer:
    """A stand-in VBot that answers only what the test tells it to."""
    loopback_http.clear()
    return loopback_http


class SmtpInbox:
    """What a real SMTP server on loopback (aiosmtpd) received: one ``email.message.Message`` per mail."""

    def __init__(self) -> None:
        self.messages: list = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [m.get_body(preferencelist=("html", "plain")).get_content() for m in self.messages]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    """An SMTP server on a free loopback port for one test (no TLS, no auth, like a relay)."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    inbox.port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()
