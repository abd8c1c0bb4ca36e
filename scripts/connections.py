"""Write Airflow connections as JSON, for ``airflow connections import --overwrite FILE``.

    python scripts/connections.py OUT_FILE

Everything comes from the environment (never the command line: some of it is secret):

    VBOT_BASE_URL                  vbot_default host (required)
    VBOT_TOKEN                     a static access token, or
    VBOT_USERNAME, VBOT_PASSWORD   a password grant
    VBOT_ID, VBOT_GROUP_CODE       sent with every create
    CRM_DB_URL                     crm_db: any SQLAlchemy URL (extra ``sqlalchemy_url``)
    VBOTFLOW_DB_URL                vbotflow_db: the integration database

With ``--simulator`` the VBot account is the simulator's demo account (``make up``).
The file is written with mode 600.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"error: {name} is not set")
    return value


def connections(simulator: bool) -> dict[str, dict[str, object]]:
    env = dict(os.environ)
    if simulator:
        from vbotflow_dev.simulator.config import load_config

        demo = load_config()  # the simulator's own default account: one source for id, token, group
        # Replaced, not defaulted: a developer's real VBot settings in the shell must not leak in.
        env.pop("VBOT_USERNAME", None)
        env.update(VBOT_TOKEN=demo.accounts.static_tokens[0], VBOT_ID=demo.accounts.vbot_ids[0],
                   VBOT_GROUP_CODE=demo.templates[0].group_code)
    vbot: dict[str, object] = {"conn_type": "vbot", "host": _require("VBOT_BASE_URL"),
                               "description": "VBot auto-call API"}
    if env.get("VBOT_USERNAME"):
        vbot.update(login=env["VBOT_USERNAME"], password=env.get("VBOT_PASSWORD", ""))
    else:
        vbot["password"] = env.get("VBOT_TOKEN", "")
    vbot["extra"] = json.dumps({"vbot_id": env.get("VBOT_ID", ""), "group_code": env.get("VBOT_GROUP_CODE", "")})
    return {
        "vbot_default": vbot,
        "crm_db": {"conn_type": "generic", "description": "The CRM database (read; one write-back table)",
                   "extra": json.dumps({"sqlalchemy_url": _require("CRM_DB_URL")})},
        "vbotflow_db": {"conn_type": "generic", "description": "The integration database (vbotflow db upgrade)",
                        "extra": json.dumps({"sqlalchemy_url": _require("VBOTFLOW_DB_URL")})},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_file")
    parser.add_argument("--simulator", action="store_true", help="use the simulator's demo VBot account")
    args = parser.parse_args(argv)
    fd = os.open(args.out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(connections(args.simulator), handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
