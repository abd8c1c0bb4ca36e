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
