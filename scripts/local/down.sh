#!/usr/bin/env bash
# `make down`: stop what `make up` started (by its pid files), newest first. State stays in the var dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=proc.sh
source "$here/proc.sh"

echo "Stopping the local stack in $STACK_VAR"
# The scheduler first, so it starts no new task while the API server its tasks report to goes away;
# Celery workers next, warm (their running tasks finish), while the API server still answers them;
# the broker last. Whatever else has a pid file (more workers or receivers) goes before the broker.
for name in scheduler $(cd "$STACK_RUN" 2>/dev/null && ls worker-*.pid 2>/dev/null | sed 's/\.pid$//'); do
    case "$name" in worker-*) proc_stop "$name" leader ;; *) proc_stop "$name" ;; esac
done
for name in triggerer dag-processor api-server simulator receiver-proxy receiver; do
    proc_stop "$name"
done
for file in "$STACK_RUN"/*.pid; do
    [ -e "$file" ] || continue
    name="$(basename "$file" .pid)"
    [ "$name" = redis ] || proc_stop "$name"
done
proc_stop redis
