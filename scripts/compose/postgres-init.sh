#!/usr/bin/env bash
# Mounted into the postgres container's /docker-entrypoint-initdb.d/: runs once, when its data
# volume is first created. Next to Airflow's metadata database (POSTGRES_DB), it creates the
# integration database with a role of its own, so the receiver never holds Airflow's credentials.
set -euo pipefail
: "${VBOTFLOW_DB_NAME:?}" "${VBOTFLOW_DB_USER:?}" "${VBOTFLOW_DB_PASSWORD:?}"

# psql variables (:"name" quotes an identifier, :'name' a literal), so no value is pasted into SQL.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$VBOTFLOW_DB_NAME" -v role="$VBOTFLOW_DB_USER" -v password="$VBOTFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
SQL
echo "created database $VBOTFLOW_DB_NAME owned by $VBOTFLOW_DB_USER"
