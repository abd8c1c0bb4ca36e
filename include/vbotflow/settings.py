"""Settings read from the environment (the receiver, the CLI); Airflow tasks use connections."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def var_dir() -> Path:
    """Where local state and outputs go: ``VBOTFLOW_VAR_DIR``, else ``var/`` in the project."""
    path = Path(os.environ.get("VBOTFLOW_VAR_DIR") or PROJECT_ROOT / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    """The integration database: ``VBOTFLOW_DB_URL``, else a SQLite file under ``var/``."""
    url = os.environ.get("VBOTFLOW_DB_URL", "").strip()
    return url or f"sqlite:///{var_dir() / 'vbotflow.db'}"


def spool_dir() -> Path:
    """Where the webhook receiver spools deliveries while the database is away: ``VBOTFLOW_SPOOL_DIR``."""
    value = os.environ.get("VBOTFLOW_SPOOL_DIR", "").strip()
    return Path(value) if value else var_dir() / "spool"
