"""gunicorn settings for the receiver.

    gunicorn -c python:vbotflow.receiver.gunicorn_conf vbotflow.receiver.wsgi:app

Every value can be overridden on the command line or by ``VBOTFLOW_RECEIVER_*`` variables.

Logs: every line gunicorn or the receiver writes — access log, error log, the receiver's own —
passes ``SecretRedactor``, which knows the configured tokens and removes them in any form a
sender could put them in a request (query string, percent-encoded, path, Basic auth, a malformed
request line gunicorn quotes); the access log's user field (from Basic auth) is never written.

Metrics: ``/metrics`` must count the whole receiver, not the worker that happens to answer, so
prometheus_client runs in multiprocess mode: each worker writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (default: a fresh directory under the system's temporary directory),
emptied when gunicorn starts and told when a worker dies.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from vbotflow.receiver.auth import parse_tokens
from vbotflow.receiver.logmask import SecretRedactor, configured_secrets, mask_token

bind = os.environ.get("VBOTFLOW_RECEIVER_BIND", "127.0.0.1:8081")
workers = int(os.environ.get("VBOTFLOW_RECEIVER_WORKERS", str(min(4, (os.cpu_count() or 1) + 1))))
# gthread, sharing a burst of keep-alive connections among the workers (``worker``).
worker_class = "vbotflow.receiver.worker.BalancedThreadWorker"
# Threads: a request spends most of its time waiting for the database commit.
threads = int(os.environ.get("VBOTFLOW_RECEIVER_THREADS", "8"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("VBOTFLOW_RECEIVER_ACCESS_LOG", "-")
errorlog = os.environ.get("VBOTFLOW_RECEIVER_ERROR_LOG", "-")
loglevel = os.environ.get("VBOTFLOW_RECEIVER_LOG_LEVEL", "info")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_own_metrics_dir: str | None = None

# Headers whose values are credentials: never in the access log, whatever its format.
_SECRET_HEADER_ATOMS = ("{authorization}i", "{proxy-authorization}i", "{cookie}i", "{x-webhook-token}i",
                        "{http_authorization}e", "{http_proxy_authorization}e", "{http_cookie}e",
                        "{http_x_webhook_token}e")


def _redactor() -> SecretRedactor:
    env = os.environ
    return SecretRedactor(configured_secrets(parse_tokens(env.get("VBOTFLOW_WEBHOOK_TOKEN")),
                                             env.get("VBOTFLOW_WEBHOOK_SIGNING_SECRET", "").strip() or None))


class MaskingLogger(Logger):
    """gunicorn's logger, with every handler behind ``SecretRedactor`` and the receiver's own log joined to it."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        redactor = _redactor()
        for handler in self.error_log.handlers + self.access_log.handlers:
            if not any(isinstance(f, SecretRedactor) for f in handler.filters):
                handler.addFilter(redactor)
        # The receiver's log lines (phones already masked) go where gunicorn's error log goes.
        ours = logging.getLogger("vbotflow")
        ours.setLevel(self.error_log.level)
        ours.handlers = list(self.error_log.handlers)
        ours.propagate = False

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["u"] = "-"  # the Basic-auth user: a sender may have put a token there
        for key in ("r", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_token(atoms[key])
        for key in _SECRET_HEADER_ATOMS:
            if key in atoms:
                atoms[key] = "***"
        return atoms


logger_class = MaskingLogger


def on_starting(server: Any) -> None:
    """Share the workers' metrics in one directory; counters of a previous run must not be counted again.

    Runs in the master before any worker is forked, so every worker inherits the variable before it
    imports prometheus_client.
    """
    global _own_metrics_dir
    if not os.environ.get(MULTIPROC_ENV):
        _own_metrics_dir = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="vbotflow-receiver-metrics-")
    directory = Path(os.environ[MULTIPROC_ENV])
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker died or was replaced: its live gauges go; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
