"""The receiver's app factory: defaults, then the environment, then test overrides."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from vbotflow import settings
from vbotflow.receiver.auth import parse_tokens
from vbotflow.receiver.runtime import ReceiverRuntime
from vbotflow.receiver.views import bp

log = logging.getLogger("vbotflow.receiver")

DEFAULT_MAX_BYTES = 1024 * 1024
# VBot's bodies are a few hundred bytes to a few KB, sent server to server: seconds are plenty.
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0


def config_from_env() -> dict[str, Any]:
    """The receiver's settings from ``VBOTFLOW_*`` environment variables."""
    env = os.environ
    return {
        "DB_URL": settings.db_url(),
        "WEBHOOK_TOKENS": parse_tokens(env.get("VBOTFLOW_WEBHOOK_TOKEN")),
        "SIGNING_SECRET": env.get("VBOTFLOW_WEBHOOK_SIGNING_SECRET", "").strip() or None,
        "SIGNATURE_TOLERANCE_SECONDS": int(env.get("VBOTFLOW_WEBHOOK_SIGNATURE_TOLERANCE", "300")),
        "MAX_CONTENT_LENGTH": int(env.get("VBOTFLOW_WEBHOOK_MAX_BYTES", str(DEFAULT_MAX_BYTES))),
        "SPOOL_DIR": str(settings.spool_dir()),
        "SPOOL_RETRY_SECONDS": float(env.get("VBOTFLOW_SPOOL_RETRY_SECONDS", "5")),
        "DB_TIMEOUT_SECONDS": float(env.get("VBOTFLOW_RECEIVER_DB_TIMEOUT", "5")),
        "BODY_TIMEOUT_SECONDS": float(env.get("VBOTFLOW_RECEIVER_BODY_TIMEOUT", str(DEFAULT_BODY_TIMEOUT_SECONDS))),
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The receiver app; ``test_config`` overrides any setting of ``config_from_env``."""
    app = Flask(__name__)
    app.config.update(config_from_env())
    if test_config:
        app.config.update(test_config)
    if isinstance(app.config["WEBHOOK_TOKENS"], str):
        app.config["WEBHOOK_TOKENS"] = parse_tokens(app.config["WEBHOOK_TOKENS"])
    if not app.config["WEBHOOK_TOKENS"] and not app.config["SIGNING_SECRET"]:
        # Fail closed: with nothing to check against, every delivery is answered 401.
        log.warning("no VBOTFLOW_WEBHOOK_TOKEN nor signing secret configured: every delivery will get 401")
    app.extensions["vbotflow_receiver"] = ReceiverRuntime(app.config)
    app.register_blueprint(bp)
    return app
