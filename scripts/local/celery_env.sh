# shellcheck shell=bash
# The distributed local stack (`make up EXECUTOR=celery`): what docker-compose.yaml runs, as local
# processes — Airflow on PostgreSQL with the CeleryExecutor (Redis broker with a password, result
# backend in PostgreSQL), several Celery workers, the integration database on PostgreSQL with a role
# of its own, several receivers behind nginx, a CRM on MariaDB. Sourced by env.sh, never run.
#
# Override by environment:
#   VBOTFLOW_PG_HOST, VBOTFLOW_PG_PORT, VBOTFLOW_PG_USER   the PostgreSQL server (127.0.0.1, 5432, postgres;
#                                                         a superuser: it creates the databases and a role)
#   VBOTFLOW_DB_PREFIX          names of the databases and role made there (vbotflow_local):
#                               <prefix>_airflow (metadata + Celery results), <prefix>_vbotflow (integration)
#   VBOTFLOW_CRM_URL            the CRM (mysql+pymysql://root@127.0.0.1:3306/<prefix>_crm, seeded once)
#   VBOTFLOW_REDIS_PORT         the broker's port (6380; its own redis-server, password in the var dir)
#   VBOTFLOW_CELERY_WORKERS     how many Celery workers (2), each with
#   VBOTFLOW_WORKER_CONCURRENCY task slots (2)
#   VBOTFLOW_RECEIVER_PORTS     one receiver per port ("8082 8083"); nginx on VBOTFLOW_RECEIVER_PORT
#                               (8081) spreads deliveries over them, as receiver-proxy does in compose
#   VBOTFLOW_RECEIVER_WORKERS   gunicorn workers per receiver (2, compose's RECEIVER_WORKERS)

STACK_PG_HOST="${VBOTFLOW_PG_HOST:-127.0.0.1}"
STACK_PG_PORT="${VBOTFLOW_PG_PORT:-5432}"
STACK_PG_USER="${VBOTFLOW_PG_USER:-postgres}"
STACK_DB_PREFIX="${VBOTFLOW_DB_PREFIX:-vbotflow_local}"
STACK_AIRFLOW_DB="${STACK_DB_PREFIX}_airflow"
STACK_VBOTFLOW_DB="${STACK_DB_PREFIX}_vbotflow"
STACK_VBOTFLOW_ROLE="${STACK_DB_PREFIX}_vbotflow"
STACK_CRM_URL="${VBOTFLOW_CRM_URL:-mysql+pymysql://root@127.0.0.1:3306/${STACK_DB_PREFIX}_crm}"
REDIS_PORT="${VBOTFLOW_REDIS_PORT:-6380}"
STACK_WORKERS="${VBOTFLOW_CELERY_WORKERS:-2}"
read -r -a STACK_RECEIVER_PORTS <<<"${VBOTFLOW_RECEIVER_PORTS:-8082 8083}"

# Secrets made once by up.sh (mode 600), like .env's change-me values made by fill_secrets.py.
STACK_SECRET_DIR="$STACK_VAR/secrets"
STACK_PG_BASE="postgresql+psycopg://$STACK_PG_USER@$STACK_PG_HOST:$STACK_PG_PORT"

celery_worker_names() { local i; for ((i = 1; i <= STACK_WORKERS; i++)); do echo "worker-$i"; done; }
celery_receiver_names() { local i; for ((i = 1; i <= ${#STACK_RECEIVER_PORTS[@]}; i++)); do echo "receiver-$i"; done; }
stack_secret() { cat "$STACK_SECRET_DIR/$1"; }

# The environment docker-compose.yaml gives x-airflow-common (the same names; hosts and ports are this
# machine's). Called by up.sh once the secrets exist.
celery_exports() {
    local vbotflow_password redis_password
    vbotflow_password="$(stack_secret vbotflow_db_password)"
    redis_password="$(stack_secret redis_password)"
    export VBOTFLOW_DB_URL="postgresql+psycopg://$STACK_VBOTFLOW_ROLE:$vbotflow_password@$STACK_PG_HOST:$STACK_PG_PORT/$STACK_VBOTFLOW_DB"
    export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$STACK_PG_BASE/$STACK_AIRFLOW_DB"
    # Airflow would derive an asyncpg URL, a driver the requirements do not have: psycopg 3 does async too.
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="postgresql+psycopg_async://$STACK_PG_USER@$STACK_PG_HOST:$STACK_PG_PORT/$STACK_AIRFLOW_DB"
    export AIRFLOW__CELERY__RESULT_BACKEND="db+$STACK_PG_BASE/$STACK_AIRFLOW_DB"
    export AIRFLOW__CELERY__BROKER_URL="redis://:$redis_password@127.0.0.1:$REDIS_PORT/0"
    export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=86400  # as compose (see there)
    export AIRFLOW__CELERY__WORKER_CONCURRENCY="${VBOTFLOW_WORKER_CONCURRENCY:-2}"
    export AIRFLOW__CORE__FERNET_KEY_CMD="cat '$STACK_SECRET_DIR/fernet_key'"
    export AIRFLOW__API__SECRET_KEY_CMD="cat '$STACK_SECRET_DIR/api_secret_key'"
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
    export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
    # Each worker reports its own name on the task instances it runs, as each compose container does.
    export AIRFLOW__CORE__HOSTNAME_CALLABLE=vbot_provider.local_hostname.hostname
    # The PostgreSQL server is shared on a developer's machine: small pools per process (Airflow's
    # default, 5 + 10 overflow, times seven processes would take a third of a default server).
    export AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE="${AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE:-3}"
    export AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW="${AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW:-5}"
}
