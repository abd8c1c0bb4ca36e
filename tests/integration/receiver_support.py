"""Helpers for the receiver tests: real servers on loopback (threaded Werkzeug, gunicorn), bodies, queries."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.integration.tcp_proxy import TcpProxy
from vbotflow.receiver.app import create_app
from vbotflow.store import db
from vbotflow.store.tables import webhook_call_record, webhook_event

TOKEN = "tok-current-9f2c"
OLD_TOKEN = "tok-previous-1a7e"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
REPO_ROOT = Path(__file__).resolve().parents[2]


def autocall_body(campaign_id: int = 2932, phone: str = "0912345678", create_at: str = "11/26/2026 09:15:00",
                  status: int | str = 200, **extra: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "create_at": create_at, "hotline": "02471000000", "phone": phone,
            "name": "Nguyễn Văn An", "description": "", "status": status, "time_call": 35, "postage": 750.0,
            "service_charge": 0.0, "action_log": "1", "event_data": "autocall", **extra}


def call_record(caller: str = "02471000000", callee: str = "0912345678", disposition: str = "ANSWER",
                date_create: str = "11/26/2026 10:00:00", **extra: Any) -> dict[str, Any]:
    return {"hotline_number": "02471000000", "date_create": date_create, "time_call": "42", "type_call": "CALLOUT",
            "caller": caller, "callee": callee, "postage": "900", "source": "api", "event_data": "call",
            "disposition": disposition, "record_file": "https://rec.example/1.mp3", **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def werkzeug_server(config: dict[str, Any]) -> Iterator[str]:
    """The app under a threaded Werkzeug server on loopback; yields its base URL."""
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        app.extensions["vbotflow_receiver"].engine.dispose()


def wait_until_up(url: str, process: subprocess.Popen | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            requests.get(url + "/healthz", timeout=10)
            return
        except requests.RequestException:  # not listening yet, or a worker still booting
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def gunicorn_process(db_url: str, spool_dir: Path, log_path: Path, workers: int = 3, threads: int = 8,
                     log_level: str = "info", env: dict[str, str] | None = None,
                     ) -> Iterator[tuple[str, subprocess.Popen]]:
    """The receiver under gunicorn with the project's config file: its URL and the master process.

    Whatever gunicorn prints (access and error logs, unless ``env`` sends them to files) goes to ``log_path``.
    """
    port = free_port()
    env = {**os.environ, "VBOTFLOW_DB_URL": db_url, "VBOTFLOW_WEBHOOK_TOKEN": f"{TOKEN},{OLD_TOKEN}",
           "VBOTFLOW_SPOOL_DIR": str(spool_dir), "VBOTFLOW_RECEIVER_WORKERS": str(workers),
           "VBOTFLOW_RECEIVER_THREADS": str(threads), "VBOTFLOW_RECEIVER_BIND": f"127.0.0.1:{port}",
           "VBOTFLOW_RECEIVER_LOG_LEVEL": log_level, **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([GUNICORN, "-c", "python:vbotflow.receiver.gunicorn_conf",
                                    "vbotflow.receiver.wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, process)
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def gunicorn_server(db_url: str, spool_dir: Path, log_path: Path, workers: int = 3,
                    threads: int = 8, log_level: str = "info", env: dict[str, str] | None = None) -> Iterator[str]:
    """The receiver under gunicorn with the project's config file; access and error logs go to ``log_path``."""
    with gunicorn_process(db_url, spool_dir, log_path, workers, threads, log_level, env) as (url, _process):
        yield url


def events(url: str) -> list[dict[str, Any]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(webhook_event).order_by(webhook_event.c.event_id)).mappings().all()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def call_records(url: str) -> list[dict[str, Any]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(webhook_call_record).order_by(
                webhook_call_record.c.call_record_id)).mappings().all()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def post(url: str, path: str, body: Any, *, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    """POST ``body`` (bytes as is, anything else as JSON) with the token in the X-Webhook-Token header."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers.setdefault("X-Webhook-Token", token)
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers.setdefault("Content-Type", "application/json")
    return requests.post(url + path, data=data, headers=headers, timeout=30, **kwargs)


class Outage:
    """Makes the receiver's database unreachable (``down``) and reachable again (``up``).

    PostgreSQL is reached through a loopback TCP proxy that is cut (the shared server keeps
    running); SQLite is made unwritable by another connection holding an exclusive lock.
    """

    def __init__(self, db_url: str) -> None:
        self.real_url = db_url
        parsed = sa.engine.make_url(db_url)
        self.proxy: TcpProxy | None = None
        self._lock: sqlite3.Connection | None = None
        if parsed.get_backend_name() == "postgresql":
            self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            self.proxy.start()
            self.url = parsed.set(port=self.proxy.port).render_as_string(hide_password=False)
        else:
            self.url = db_url

    def down(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            self._lock = sqlite3.connect(sa.engine.make_url(self.real_url).database, isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")

    def close(self) -> None:
        self.up()
        if self.proxy is not None:
            self.proxy.cut()

    def up(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        elif self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None


