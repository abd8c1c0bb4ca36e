"""Write Airflow connections as JSON, for ``airflow connections import --overwrite FILE``.

    python scripts/connections.py OUT_FILE

Everything comes from the environment (never the command line: some of it is secret):

    VBOT_BASE_URL                  vbot_default host (required)
    VBOT_TOKEN                     a static access token, or
    VBOT_USERNAME, VBOT_PASSWORD   a password grant
    VBOT_ID, VBOT_GROUP_CODE       sent with every create
    CRM_DB_URL                     crm_db: any SQLAlchemy URL (type ``sqlalchemy_url``; its password
                                   goes to the connection's password field)
    VBOTFLOW_DB_URL                vbotflow_db: the integration database (the same)

With ``--simulator`` the VBot account is the simulator's demo account (``make up``).
The file is written with mode 600.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from sqlalchemy.engine import URL, make_url

from vbot_provider.conn_fields import default_extras


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
    # Every extra the hook reads, written out: Airflow 3.3's edit form shows only the extras a
    # connection already has, so an extra left to its default would be missing from the form.
    vbot["extra"] = json.dumps({**default_extras(), "vbot_id": env.get("VBOT_ID", ""),
                                "group_code": env.get("VBOT_GROUP_CODE", "")})
    return {
        "vbot_default": vbot,
        "crm_db": database("The CRM database (read; one write-back table)", _require("CRM_DB_URL")),
        "vbotflow_db": database("The integration database (vbotflow db upgrade)", _require("VBOTFLOW_DB_URL")),
    }


def database(description: str, url: str) -> dict[str, object]:
    """A ``sqlalchemy_url`` connection (testable in the UI): the URL in the extra, its password apart.

    The password goes to the password field, which Airflow encrypts and masks; the URL in the extra,
    which the UI shows, keeps everything else.
    """
    parsed = make_url(url)
    bare = URL.create(parsed.drivername, username=parsed.username, host=parsed.host, port=parsed.port,
                      database=parsed.database, query=parsed.query)
    return {"conn_type": "sqlalchemy_url", "description": description, "password": parsed.password or "",
            "extra": json.dumps({"sqlalchemy_url": bare.render_as_string(hide_password=False)})}


def _with_port_zero(conn: dict[str, object]) -> dict[str, object]:
    """Airflow 3.3.2's Test button sends port 0 for a connection without a port and then refuses
    to test it ("The host or port to test differs from the stored connection", apache/airflow#73298):
    storing 0, which no connection here uses, lets the button work."""
    return {**conn, "port": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_file")
    parser.add_argument("--simulator", action="store_true", help="use the simulator's demo VBot account")
    args = parser.parse_args(argv)
    fd = os.open(args.out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({conn_id: _with_port_zero(conn) for conn_id, conn in connections(args.simulator).items()},
                  handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
