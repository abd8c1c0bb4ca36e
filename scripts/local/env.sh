# shellcheck shell=bash
# The environment of the local stack (`make up` / `make down`): where its state lives, its ports,
# and the Airflow settings every process of it shares. Sourced, never run.
#
# Override by environment (a test runs a second stack next to a developer's this way):
#   VBOTFLOW_VAR_DIR          state, logs and pid files (default: var/ in the repository)
#   VBOTFLOW_AIRFLOW_PORT     Airflow UI and REST API (8080)
#   VBOTFLOW_RECEIVER_PORT    webhook receiver (8081)
#   VBOTFLOW_SIMULATOR_PORT   VBot simulator (8090)
#   VBOTFLOW_VENV             the virtualenv to run from (.venv)
#   VBOTFLOW_SIMULATOR_ARGS   more options for the simulator, e.g. "--hang-rate 0.5 --hang-seconds 20"
#   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS  the UI's users (default admin:admin)

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_VENV="${VBOTFLOW_VENV:-$STACK_ROOT/.venv}"
STACK_VAR="${VBOTFLOW_VAR_DIR:-$STACK_ROOT/var}"
mkdir -p "$STACK_VAR"
STACK_VAR="$(cd "$STACK_VAR" && pwd)"  # absolute: it ends up in connection URLs and pid files
STACK_RUN="$STACK_VAR/run"             # pid files
STACK_LOGS="$STACK_VAR/log"            # one log per process
STACK_TOKEN_FILE="$STACK_VAR/webhook_token"
STACK_PRIVACY_KEY_FILE="$STACK_VAR/privacy_key"  # the pseudonym key of erasure and retention

AIRFLOW_PORT="${VBOTFLOW_AIRFLOW_PORT:-8080}"
RECEIVER_PORT="${VBOTFLOW_RECEIVER_PORT:-8081}"
SIMULATOR_PORT="${VBOTFLOW_SIMULATOR_PORT:-8090}"

export PATH="$STACK_VENV/bin:$PATH"  # `airflow` spawns `airflow` subcommands by name
export VBOTFLOW_VAR_DIR="$STACK_VAR" # dry-run previews and defaults of the vbotflow CLI land here too
export VBOTFLOW_DB_URL="sqlite:///$STACK_VAR/vbotflow.db"
export VBOTFLOW_SPOOL_DIR="$STACK_VAR/spool"
STACK_CRM_URL="sqlite:///$STACK_VAR/crm.db"

export AIRFLOW_HOME="$STACK_VAR/airflow"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__CORE__DAGS_FOLDER="$STACK_ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# What `airflow standalone` would pick; set here because the components are started one by one.
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
# user:role pairs (roles viewer, user, op, admin); passwords are generated into AIRFLOW_HOME once each.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
# Tasks report to the API server's execution API: it must be this stack's, not the default :8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$AIRFLOW_PORT/execution/"
# LocalExecutor forks one worker per parallelism slot (default 32): a handful is enough here.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
# One API worker is plenty for one developer and keeps a 2-core laptop responsive.
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
# A new DAG file shows up within seconds instead of the default five minutes.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"

# --- What the UI shows and lets you click (README "Local Airflow UI") ---
# The Test button of Admin → Connections (VBot: token and one call-history read; databases: SELECT 1).
export AIRFLOW__CORE__TEST_CONNECTION="${AIRFLOW__CORE__TEST_CONNECTION:-Enabled}"
# Airflow 3 has no server-side UI time zone: the vbotflow_ui plugin makes this the browser's default.
export VBOTFLOW_UI_TIMEZONE="${VBOTFLOW_UI_TIMEZONE-Asia/Ho_Chi_Minh}"  # set but empty: no default
# The API server's host as Airflow's config sees it (the command line's --host is not): a loopback
# host keeps the simple auth manager from warning that the stack "looks like production".
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
# Every process writes one log folder and no log servers run: read running and deferred tasks' logs
# from that folder instead of failing to reach a log server ("Could not read served logs").
export AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS="${AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS:-vbot_provider.local_logging.LOGGING_CONFIG}"
# The JWT secret of the API and of tasks: 64 random bytes (HS512 wants 64; Airflow's own is 16), made
# once by up.sh, read from the file so it is in no environment and no command line.
STACK_JWT_SECRET_FILE="$STACK_VAR/jwt_secret"
export AIRFLOW__API_AUTH__JWT_SECRET_CMD="cat '$STACK_JWT_SECRET_FILE'"

# --- The executor: LocalExecutor on SQLite (default), or the compose topology (celery_env.sh) ---
STACK_EXECUTOR="${VBOTFLOW_EXECUTOR:-local}"
case "$STACK_EXECUTOR" in
    local) ;;
    celery)
        # shellcheck source=celery_env.sh
        source "$(dirname "${BASH_SOURCE[0]}")/celery_env.sh" ;;
    *) echo "error: VBOTFLOW_EXECUTOR (make up EXECUTOR=...) must be local or celery, not '$STACK_EXECUTOR'" >&2
       return 1 ;;
esac
