# shellcheck shell=bash
# `make up EXECUTOR=celery`: prepares and starts docker-compose.yaml's topology as local processes.
# Sourced by up.sh (after env.sh, celery_env.sh and proc.sh), which then waits for it to be ready.
#
# What compose does, step by step, with the same entry points:
#   postgres (first start)   → CREATE DATABASE <prefix>_airflow, then scripts/compose/postgres-init.sh
#   redis                    → redis-server with a password (its own process: the machine's has none)
#   crm-demo, crm-seed       → a database on MariaDB (VBOTFLOW_CRM_URL), `vbotflow crm seed` once
#   airflow-init             → scripts/compose/init.sh (migrations, admin password, connections)
#   receiver × N             → gunicorn -c python:vbotflow.receiver.gunicorn_conf, one per port
#   receiver-proxy           → nginx with scripts/compose/receiver-proxy.conf, upstreams = those ports
#   simulator                → scripts/compose/simulator.sh
#   airflow-*                → api-server, scheduler, dag-processor, triggerer, celery worker × M

for tool in psql redis-server; do
    command -v "$tool" >/dev/null || { echo "error: EXECUTOR=celery needs $tool (apt-get install -y" \
        "$([ "$tool" = psql ] && echo postgresql-client || echo redis-server))" >&2; exit 1; }
done
STACK_NGINX="$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)"
[ -n "$STACK_NGINX" ] || { echo "error: EXECUTOR=celery needs nginx (apt-get install -y nginx-light)" >&2; exit 1; }

# The .env secrets fill_secrets.py would make: random once, kept (mode 600), never printed.
mkdir -p "$STACK_SECRET_DIR" && chmod 700 "$STACK_SECRET_DIR"
make_secret() {
    [ -s "$STACK_SECRET_DIR/$1" ] && return 0
    (umask 077 && "$py" -c "import base64, os, secrets; print($2)" >"$STACK_SECRET_DIR/$1")
}
make_secret redis_password 'secrets.token_hex(24)'
make_secret vbotflow_db_password 'secrets.token_hex(24)'
make_secret admin_password 'secrets.token_hex(12)'
make_secret api_secret_key 'secrets.token_hex(24)'
make_secret fernet_key 'base64.urlsafe_b64encode(os.urandom(32)).decode()'
celery_exports

psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$STACK_PG_HOST" -p "$STACK_PG_PORT" -U "$STACK_PG_USER" "$@"
}
if ! psql_admin -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
    echo "error: PostgreSQL at $STACK_PG_HOST:$STACK_PG_PORT (user $STACK_PG_USER) is unreachable;" \
         "set VBOTFLOW_PG_HOST/PORT/USER" >&2
    exit 1
fi
if [ -z "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$STACK_AIRFLOW_DB'")" ]; then
    echo "Creating PostgreSQL databases $STACK_AIRFLOW_DB and $STACK_VBOTFLOW_DB (role $STACK_VBOTFLOW_ROLE)"
    psql_admin -d postgres -c "CREATE DATABASE \"$STACK_AIRFLOW_DB\""
    # What the postgres container runs on its first start: the integration DB with a role of its own.
    PGHOST="$STACK_PG_HOST" PGPORT="$STACK_PG_PORT" POSTGRES_USER="$STACK_PG_USER" POSTGRES_DB="$STACK_AIRFLOW_DB" \
        VBOTFLOW_DB_NAME="$STACK_VBOTFLOW_DB" VBOTFLOW_DB_USER="$STACK_VBOTFLOW_ROLE" \
        VBOTFLOW_DB_PASSWORD="$(stack_secret vbotflow_db_password)" \
        bash "$here/../compose/postgres-init.sh" >>"$STACK_LOGS/postgres-init.log" 2>&1 || {
            proc_log_tail postgres-init; exit 1; }
fi

# The CRM: created and seeded once (crm-demo + crm-seed); later starts keep what is there.
crm_new="$("$py" - "$STACK_CRM_URL" <<'PY'
import sys

import sqlalchemy as sa

url = sa.engine.make_url(sys.argv[1])
try:
    sa.create_engine(url).connect().close()
    print("kept")
except sa.exc.OperationalError:
    mysql = url.get_backend_name() in ("mysql", "mariadb")
    server = sa.create_engine(url._replace(database=None if mysql else "postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        suffix = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if mysql else ""
        quoted = f"`{url.database}`" if mysql else f'"{url.database}"'
        conn.execute(sa.text(f"CREATE DATABASE {quoted}{suffix}"))
    print("new")
PY
)" || { echo "error: cannot reach or create the CRM database (VBOTFLOW_CRM_URL)" >&2; exit 1; }
if [ "$crm_new" = new ]; then
    "$STACK_VENV/bin/vbotflow" crm seed --url "$STACK_CRM_URL" --rows "$CRM_ROWS"
fi

# Redis, password protected like the compose service; the password is in a config file, not argv.
mkdir -p "$STACK_VAR/redis"
(umask 077 && printf 'port %s\nbind 127.0.0.1\nrequirepass %s\nsave ""\nappendonly no\ndir %s\n' \
    "$REDIS_PORT" "$(stack_secret redis_password)" "$STACK_VAR/redis" >"$STACK_VAR/redis/redis.conf")
echo "Starting"
proc_start redis redis-server "$STACK_VAR/redis/redis.conf"

# airflow-init: the compose script itself, with the simulator's demo account as the VBot one (.env.example's).
read -r vbot_token vbot_id vbot_group < <("$py" -c '
from vbotflow_dev.simulator.config import load_config
demo = load_config()
print(demo.accounts.static_tokens[0], demo.accounts.vbot_ids[0], demo.templates[0].group_code)')
echo "  airflow-init: scripts/compose/init.sh, log $STACK_LOGS/airflow-init.log"
AIRFLOW_ADMIN_USER=admin AIRFLOW_ADMIN_PASSWORD="$(stack_secret admin_password)" CRM_DB_URL="$STACK_CRM_URL" \
    VBOT_BASE_URL="http://127.0.0.1:$SIMULATOR_PORT" VBOT_TOKEN="$vbot_token" VBOT_ID="$vbot_id" \
    VBOT_GROUP_CODE="$vbot_group" VBOT_USERNAME="" VBOT_PASSWORD="" \
    bash "$here/../compose/init.sh" >>"$STACK_LOGS/airflow-init.log" 2>&1 || { proc_log_tail airflow-init; exit 1; }

# Receivers: compose's command, one instance per port, one spool folder and integration DB for all.
i=0
for name in $(celery_receiver_names); do
    (
        VBOTFLOW_WEBHOOK_TOKEN="$(cat "$STACK_TOKEN_FILE")"
        VBOTFLOW_RECEIVER_WORKERS="${VBOTFLOW_RECEIVER_WORKERS:-2}"
        export VBOTFLOW_WEBHOOK_TOKEN VBOTFLOW_RECEIVER_WORKERS
        proc_start "$name" "$STACK_VENV/bin/gunicorn" -c python:vbotflow.receiver.gunicorn_conf \
            --bind "127.0.0.1:${STACK_RECEIVER_PORTS[$i]}" vbotflow.receiver.wsgi:app
    )
    i=$((i + 1))
done

# receiver-proxy: the compose file's nginx configuration; only what Docker provides is replaced (the
# upstream addresses, the listening port) and where an unprivileged nginx may write.
proxy_dir="$STACK_VAR/receiver-proxy"
mkdir -p "$proxy_dir/logs" "$proxy_dir/temp"
"$py" - "$here/../compose/receiver-proxy.conf" "$proxy_dir" "$RECEIVER_PORT" "${STACK_RECEIVER_PORTS[@]}" <<'PY'
import sys
from pathlib import Path

source, directory, port, *upstreams = sys.argv[1:]
config = Path(source).read_text(encoding="utf-8")
for expected in ("server receiver:8081;", "listen 8080;", "http {"):
    if expected not in config:
        sys.exit(f"error: {source} no longer has {expected!r}; update scripts/local/up_celery.sh")
temp = "".join(f"    {kind}_temp_path {directory}/temp/{kind};\n"
               for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
config = (config.replace("server receiver:8081;", " ".join(f"server 127.0.0.1:{p};" for p in upstreams))
          .replace("listen 8080;", f"listen 127.0.0.1:{port};")
          .replace("worker_processes auto;", "worker_processes 1;")
          .replace("http {", "http {\n" + temp, 1))
Path(directory, "nginx.conf").write_text(config, encoding="utf-8")
PY
proc_start receiver-proxy "$STACK_NGINX" -p "$proxy_dir" -c "$proxy_dir/nginx.conf" \
    -g "daemon off; pid $proxy_dir/nginx.pid;"

# simulator: the compose entry point; the later --host/--port win over its container defaults.
read -r -a simulator_args <<<"${VBOTFLOW_SIMULATOR_ARGS:-}"
(
    VBOTFLOW_WEBHOOK_TOKEN="$(cat "$STACK_TOKEN_FILE")"
    SIMULATOR_WEBHOOK_URL="http://127.0.0.1:$RECEIVER_PORT/webhooks/vbot"
    export VBOTFLOW_WEBHOOK_TOKEN SIMULATOR_WEBHOOK_URL
    proc_start simulator bash "$here/../compose/simulator.sh" --seed 1 --host 127.0.0.1 --port "$SIMULATOR_PORT" \
        ${simulator_args[@]+"${simulator_args[@]}"}
)

# Airflow: compose's commands (start_airflow, up.sh), then its Celery workers.
start_airflow
for name in $(celery_worker_names); do
    (
        export VBOTFLOW_HOSTNAME="$name"
        proc_start "$name" "$STACK_VENV/bin/airflow" celery worker --skip-serve-logs --celery-hostname "$name@%h"
    )
done

components=(redis simulator receiver-proxy api-server scheduler dag-processor triggerer)
mapfile -t -O "${#components[@]}" components < <(celery_receiver_names; celery_worker_names)

# Every worker answers a Celery ping through the broker (compose's worker healthcheck).
celery_ready() {
    local expected
    expected="$(celery_worker_names | tr '\n' ' ')"
    "$py" - $expected <<'PY' >>"$STACK_LOGS/celery-ping.log" 2>&1
import sys

from airflow.providers.celery.executors.celery_executor import app

replies = app.control.inspect(timeout=5).ping() or {}
answered = {name.split("@", 1)[0] for name in replies}
sys.exit(0 if set(sys.argv[1:]) <= answered else 1)
PY
}
