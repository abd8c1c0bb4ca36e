"""Write a simulator config: the demo account, plus the receiver's token as a delivery header.

    VBOTFLOW_WEBHOOK_TOKEN=... python scripts/sim_config.py OUT_FILE

Used by `make up` and by the demo simulator container. The token travels through the environment
and a file (mode 600) rather than ``--webhook-header`` on the command line, where ``ps`` and
``docker inspect`` would show it. Of a comma-separated list (a rotation), the first is sent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from vbotflow_dev.simulator.config import DEFAULT_CONFIG_PATH, load_config

# The receiver's token header (vbotflow.receiver.auth.TOKEN_HEADER); a header, unlike ?token=,
# never shows in access logs.
TOKEN_HEADER = "X-Webhook-Token"  # noqa: S105 - a header name, not a secret


def main(out_file: str) -> int:
    tokens = [t.strip() for t in os.environ.get("VBOTFLOW_WEBHOOK_TOKEN", "").split(",") if t.strip()]
    if not tokens:
        raise SystemExit("error: VBOTFLOW_WEBHOOK_TOKEN is not set")
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")) or {}
    delivery = config.setdefault("delivery", {})
    delivery["headers"] = {**delivery.get("headers", {}), TOKEN_HEADER: tokens[0]}
    out = Path(out_file)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, allow_unicode=True, sort_keys=False)
    load_config(out)  # fail here, not in the simulator's log, if the file is not a valid config
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
