#!/usr/bin/env bash
# `make up`: the local stack in the background — Airflow (API server and UI, scheduler, DAG
# processor, triggerer; LocalExecutor on SQLite), the webhook receiver and the VBot simulator,
# all on 127.0.0.1, with state, logs and pid files under the var dir. Safe to run again: what
# runs is left alone, what is missing is started. `make down` stops it.
#
# `make up EXECUTOR=celery` (VBOTFLOW_EXECUTOR=celery) starts docker-compose.yaml's topology instead,
# through the same scripts/compose/* entry points (up_celery.sh; README "The distributed stack").
#
# Airflow's components are started one by one rather than by `airflow standalone`: standalone
# hides them behind one parent, so a pid file could not say what to stop, their logs would be
# interleaved, and a crashed component would go unnoticed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=proc.sh
source "$here/proc.sh"

UP_TIMEOUT="${VBOTFLOW_UP_TIMEOUT:-240}"

# Airflow's API server (and UI), scheduler, DAG processor and triggerer, for either executor. Log
# servers are skipped (--skip-serve-logs): every process shares one log folder, and they would
# listen on all interfaces. Tasks (vbot_retention) need the pseudonym key: only the processes
# started from here on get it, through the environment.
start_airflow() {
    VBOTFLOW_PRIVACY_KEY="$(cat "$STACK_PRIVACY_KEY_FILE")"
    export VBOTFLOW_PRIVACY_KEY
    proc_start api-server "$STACK_VENV/bin/airflow" api-server --host 127.0.0.1 --port "$AIRFLOW_PORT"
    proc_start scheduler "$STACK_VENV/bin/airflow" scheduler --skip-serve-logs
    proc_start dag-processor "$STACK_VENV/bin/airflow" dag-processor
    proc_start triggerer "$STACK_VENV/bin/airflow" triggerer --skip-serve-logs
}
CRM_ROWS="${VBOTFLOW_CRM_ROWS:-1000}"
py="$STACK_VENV/bin/python"

if [ ! -x "$STACK_VENV/bin/airflow" ]; then
    echo "error: no Airflow in $STACK_VENV; run 'make install' first" >&2
    exit 1
fi
mkdir -p "$STACK_RUN" "$STACK_LOGS" "$AIRFLOW_HOME" "$VBOTFLOW_SPOOL_DIR"

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port held by something we did not start would make our process die on bind, or worse, make a
# stranger answer our health checks.
check_port() {
    local name="$1" port="$2"
    if ! proc_pid "$name" >/dev/null && port_taken "$port"; then
        echo "error: port $port ($name) is taken by another process; set VBOTFLOW_${3}_PORT" >&2
        exit 1
    fi
}
receiver_present=false
"$py" -c 'import vbotflow.receiver' 2>/dev/null && receiver_present=true

check_port simulator "$SIMULATOR_PORT" SIMULATOR
check_port api-server "$AIRFLOW_PORT" AIRFLOW
if [ "$STACK_EXECUTOR" = celery ]; then
    check_port receiver-proxy "$RECEIVER_PORT" RECEIVER
    check_port redis "$REDIS_PORT" REDIS
    i=0
    for name in $(celery_receiver_names); do
        check_port "$name" "${STACK_RECEIVER_PORTS[$i]}" RECEIVER_PORTS
        i=$((i + 1))
    done
else
    $receiver_present && check_port receiver "$RECEIVER_PORT" RECEIVER
fi

echo "Preparing $STACK_VAR"
# The receiver's token: made once, kept (mode 600) so restarts agree; never printed in full.
if [ ! -s "$STACK_TOKEN_FILE" ]; then
    (umask 077 && "$py" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$STACK_TOKEN_FILE")
fi
# The pseudonym key of erasure and retention: made once and kept (mode 600), like the token; changing
# it would stop rows de-identified before from joining those de-identified after.
if [ ! -s "$STACK_PRIVACY_KEY_FILE" ]; then
    (umask 077 && "$py" -c 'import secrets; print(secrets.token_hex(32))' >"$STACK_PRIVACY_KEY_FILE")
fi
if [ ! -s "$STACK_JWT_SECRET_FILE" ]; then
    (umask 077 && "$py" -c 'import secrets; print(secrets.token_urlsafe(64))' >"$STACK_JWT_SECRET_FILE")
fi
if [ "$STACK_EXECUTOR" = celery ]; then
    # shellcheck source=up_celery.sh
    source "$here/up_celery.sh"  # prepares and starts the compose topology, then returns here
else
"$STACK_VENV/bin/vbotflow" --url "$VBOTFLOW_DB_URL" db upgrade
if [ ! -f "$STACK_VAR/crm.db" ]; then
    "$STACK_VENV/bin/vbotflow" crm seed --url "$STACK_CRM_URL" --rows "$CRM_ROWS"
fi
"$STACK_VENV/bin/airflow" db migrate >>"$STACK_LOGS/airflow-db-migrate.log" 2>&1 || {
    proc_log_tail airflow-db-migrate; exit 1; }
# Connections live in the metadata DB (not AIRFLOW_CONN_* variables) so the UI lists them and a
# developer can edit them; they are rewritten on every `make up` to follow the ports.
conn_file="$STACK_RUN/connections.json"
VBOT_BASE_URL="http://127.0.0.1:$SIMULATOR_PORT" CRM_DB_URL="$STACK_CRM_URL" \
    "$py" "$here/../connections.py" --simulator "$conn_file"
"$STACK_VENV/bin/airflow" connections import --overwrite "$conn_file" >>"$STACK_LOGS/airflow-connections.log" 2>&1 || {
    rm -f "$conn_file"; proc_log_tail airflow-connections; exit 1; }
rm -f "$conn_file"
VBOTFLOW_WEBHOOK_TOKEN="$(cat "$STACK_TOKEN_FILE")" "$py" "$here/../sim_config.py" "$STACK_RUN/simulator.yaml"

echo "Starting"
# VBOTFLOW_SIMULATOR_ARGS: faults to rehearse, e.g. "--hang-rate 0.5" (split on spaces, never secret).
read -r -a simulator_args <<<"${VBOTFLOW_SIMULATOR_ARGS:-}"
proc_start simulator "$STACK_VENV/bin/vbotflow" simulator --host 127.0.0.1 --port "$SIMULATOR_PORT" \
    --config "$STACK_RUN/simulator.yaml" --seed 1 \
    --webhook-url "http://127.0.0.1:$RECEIVER_PORT/webhooks/vbot" ${simulator_args[@]+"${simulator_args[@]}"}

if $receiver_present; then
    # Only the receiver gets the token, and through its environment, not its command line.
    (
        VBOTFLOW_WEBHOOK_TOKEN="$(cat "$STACK_TOKEN_FILE")"
        export VBOTFLOW_WEBHOOK_TOKEN
        # The project's config: tokens removed from the access and error logs, metrics of all workers.
        proc_start receiver "$STACK_VENV/bin/gunicorn" -c python:vbotflow.receiver.gunicorn_conf \
            --bind "127.0.0.1:$RECEIVER_PORT" --workers "${VBOTFLOW_RECEIVER_WORKERS:-2}" --threads 4 \
            vbotflow.receiver.wsgi:app
    )
else
    echo "  receiver: vbotflow.receiver is not installed yet; the simulator's deliveries will fail and be retried"
fi

start_airflow

components=(simulator api-server scheduler dag-processor triggerer)
$receiver_present && components+=(receiver)
fi

# Ready: every process alive, the receiver's /healthz answers, and Airflow's health endpoint reports
# its scheduler, DAG processor and triggerer healthy (they heartbeat through the metadata DB).
ready() {
    "$py" - "$AIRFLOW_PORT" "$RECEIVER_PORT" "$SIMULATOR_PORT" "$receiver_present" <<'PY'
import sys

import requests

airflow, receiver, simulator, has_receiver = sys.argv[1:]
try:
    requests.get(f"http://127.0.0.1:{simulator}/_sim/totals", timeout=2).raise_for_status()
    if has_receiver == "true":
        requests.get(f"http://127.0.0.1:{receiver}/healthz", timeout=2).raise_for_status()
    health = requests.get(f"http://127.0.0.1:{airflow}/api/v2/monitor/health", timeout=5).json()
except (requests.RequestException, ValueError):
    sys.exit(1)
parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
sys.exit(0 if all(health.get(p, {}).get("status") == "healthy" for p in parts) else 1)
PY
}

ready_all() {
    ready || return 1
    [ "$STACK_EXECUTOR" != celery ] || celery_ready
}

deadline=$((SECONDS + UP_TIMEOUT))
until ready_all; do
    for name in "${components[@]}"; do
        if ! proc_pid "$name" >/dev/null; then
            echo "error: $name exited while starting" >&2
            proc_log_tail "$name"
            echo "('make down' stops the rest)" >&2
            exit 1
        fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "error: the stack was not ready within ${UP_TIMEOUT}s; logs in $STACK_LOGS ('make down' stops it)" >&2
        exit 1
    fi
    sleep 2
done

crm_shown() { if [ "$STACK_EXECUTOR" = celery ]; then echo "${STACK_CRM_URL%%\?*}"; else echo "$STACK_VAR/crm.db"; fi; }
db_shown() {
    if [ "$STACK_EXECUTOR" = celery ]; then echo "PostgreSQL $STACK_VBOTFLOW_DB"; else echo "$STACK_VAR/vbotflow.db"; fi
}
celery_summary() {
    [ "$STACK_EXECUTOR" = celery ] || return 0
    printf '\n  executor     CeleryExecutor: %s (broker Redis on 127.0.0.1:%s, results in PostgreSQL %s)' \
        "$(celery_worker_names | xargs)" "$REDIS_PORT" "$STACK_AIRFLOW_DB"
    printf '\n  receivers    %s on ports %s, behind nginx on %s' \
        "$(celery_receiver_names | xargs)" "${STACK_RECEIVER_PORTS[*]}" "$RECEIVER_PORT"
}
password_file="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
token="$(cat "$STACK_TOKEN_FILE")"
logins="$("$py" - "$password_file" "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS" <<'PY'
import json
import sys

passwords = json.load(open(sys.argv[1]))
roles = dict(pair.split(":")[:2] for pair in sys.argv[2].split(",") if ":" in pair)
print("\n".join(f"user {name}, password {passwords[name]}" + ("" if name == "admin" else f"   (role {role})")
                for name, role in roles.items() if name in passwords))
PY
)"
cat <<MSG

The local stack is up (state in $STACK_VAR, logs in $STACK_LOGS).
  Airflow UI   http://127.0.0.1:$AIRFLOW_PORT   $(printf '%s' "$logins" | sed '2,$s/^/                                  /')
               ($([ "$STACK_EXECUTOR" = celery ] && echo "written by scripts/compose/init.sh from $STACK_SECRET_DIR/admin_password" || echo "generated once by Airflow's simple auth manager"), kept in $password_file)
  console      http://127.0.0.1:$AIRFLOW_PORT/plugin/vbot-console   (campaigns, rejects, ambiguous runs, outcomes)
  receiver     http://127.0.0.1:$RECEIVER_PORT/webhooks/vbot$($receiver_present || echo "   (not running: vbotflow.receiver not installed)")
               webhook token ${token:0:4}… in $STACK_TOKEN_FILE
  simulator    http://127.0.0.1:$SIMULATOR_PORT   (connection vbot_default; posts call results to the receiver)
  connections  vbot_default, crm_db ($(crm_shown)), vbotflow_db ($(db_shown))$(celery_summary)
To look at a day's list without sending anything, trigger vbot_preview (pick the campaign in its
form); a campaign DAG, once unpaused or triggered, creates campaigns inside its calling window.
Times in the UI: ${VBOTFLOW_UI_TIMEZONE:-the browser zone} (User → Timezone changes it for your browser).
'make down' stops it all.
MSG
