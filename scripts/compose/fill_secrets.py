"""Replace every ``change-me-…`` placeholder of an env file with a random secret, in place.

    cp .env.example .env && python3 scripts/compose/fill_secrets.py .env

The same placeholder gets the same value everywhere (CRM_DEMO_PASSWORD and the password inside
CRM_DB_URL stay equal). ``change-me-fernet-key`` becomes a valid Fernet key. Standard library only,
so it runs on a deployment host without the project installed. Prints names, never values.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"change-me-[a-z0-9-]+")


def fresh(placeholder: str) -> str:
    if placeholder == "change-me-fernet-key":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()  # what Fernet.generate_key() makes
    if placeholder == "change-me-jwt-secret":
        return secrets.token_hex(48)  # 96 characters: HS512 wants a key of at least 64 bytes
    return secrets.token_hex(24)  # URL-safe: these end up inside database URLs


def main(path: str) -> int:
    env_file = Path(path)
    text = env_file.read_text(encoding="utf-8")
    values = {p: fresh(p) for p in sorted(set(PLACEHOLDER.findall(text)))}
    env_file.write_text(PLACEHOLDER.sub(lambda m: values[m.group(0)], text), encoding="utf-8")
    env_file.chmod(0o600)
    sys.stdout.write(f"{env_file}: {len(values)} secret(s) generated: {', '.join(values) or 'none'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
