"""Serving the simulator over real HTTP: in a thread for tests, in the foreground for the CLI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from vbotflow.privacy.masking import mask_phones_in_text
from vbotflow_dev.simulator.app import create_app
from vbotflow_dev.simulator.config import SimConfig
from vbotflow_dev.simulator.core import Simulator

log = logging.getLogger(__name__)


class _MaskingRequestHandler(WSGIRequestHandler):
    """Werkzeug's access log, with phone numbers in query strings masked."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, message, *(mask_phones_in_text(str(a)) for a in args))


class SimulatorServer:
    """A simulator behind a threaded werkzeug server; ``port`` 0 picks a free one."""

    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = Simulator(config)
        self._server: BaseWSGIServer = make_server(host, port, create_app(self.simulator), threaded=True,
                                                   request_handler=_MaskingRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> str:
        """Serve in a background thread; returns the base URL."""
        self.simulator.start()
        # A short poll interval: shutdown() waits for it, and tests start and stop many servers.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="vbot-sim-http", daemon=True)
        self._thread.start()
        return self.base_url

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI)."""
        self.simulator.start()
        try:
            self._server.serve_forever()
        finally:
            self.simulator.stop()
            self._server.server_close()

    def stop(self) -> None:
        self.simulator.stop()  # first: wakes requests held by the hang fault
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@contextmanager
def run_simulator_in_thread(config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run a simulator on loopback for the ``with`` block; yields its base URL."""
    server = SimulatorServer(config, host, port)
    base_url = server.start()
    log.info("VBot simulator serving at %s (seed %s)", base_url, config.seed)
    try:
        yield base_url
    finally:
        server.stop()
