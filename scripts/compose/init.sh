#!/usr/bin/env bash
# The airflow-init service: migrate both databases, set the admin password, write the connections.
# Runs before the other services on every `docker compose up`; each step is idempotent.
set -euo pipefail
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env}"
: "${VBOTFLOW_DB_URL:?}" "${CRM_DB_URL:?}" "${VBOT_BASE_URL:?}"
here="$(cd "$(dirname "$0")" && pwd)"

echo "Airflow metadata database"
airflow db migrate
echo "Integration database"
vbotflow db upgrade  # VBOTFLOW_DB_URL

# The simple auth manager reads its users' passwords from this file (shared with the API server
# through a volume) and generates one only for a user missing from it: here the admin's comes from .env.
python - <<'PY'
import json
import os

user = os.environ.get("AIRFLOW_ADMIN_USER") or "admin"
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as handle:
    json.dump({user: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
print(f"admin user {user!r}: password from AIRFLOW_ADMIN_PASSWORD")
PY

# Connections go to the metadata DB (encrypted with the Fernet key) rather than AIRFLOW_CONN_*
# variables: only this container sees the VBot and CRM credentials, and the UI lists them.
conn_file="$(mktemp --suffix=.json)"  # import picks the format by extension
trap 'rm -f "$conn_file"' EXIT
python "$here/../connections.py" "$conn_file"
airflow connections import --overwrite "$conn_file"
echo "connections vbot_default, crm_db, vbotflow_db written"
