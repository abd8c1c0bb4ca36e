"""gunicorn settings for the receiver.

    gunicorn -c python:vbotflow.receiver.gunicorn_conf vbotflow.receiver.wsgi:app

Every value can be overridden on the command line or by ``VBOTFLOW_RECEIVER_*`` variables. The
access log goes through ``MaskingLogger``, so a token passed as ``?token=`` never reaches it.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from vbotflow.receiver.logmask import mask_token

bind = os.environ.get("VBOTFLOW_RECEIVER_BIND", "127.0.0.1:8081")
workers = int(os.environ.get("VBOTFLOW_RECEIVER_WORKERS", str(min(4, (os.cpu_count() or 1) + 1))))
# Threads: a request spends most of its time waiting for the database commit.
worker_class = "gthread"
threads = int(os.environ.get("VBOTFLOW_RECEIVER_THREADS", "8"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("VBOTFLOW_RECEIVER_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("VBOTFLOW_RECEIVER_LOG_LEVEL", "info")
# The receiver's own log lines (phones already masked) join gunicorn's error log.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"vbotflow": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False}},
}


class MaskingLogger(Logger):
    """gunicorn's logger with ``token=`` masked in the request line and query string of the access log."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_token(atoms[key])
        return atoms


logger_class = MaskingLogger
