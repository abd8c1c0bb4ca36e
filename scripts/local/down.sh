#!/usr/bin/env bash
# `make down`: stop what `make up` started (by its pid files), newest first. State stays in the var dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=proc.sh
source "$here/proc.sh"

echo "Stopping the local stack in $STACK_VAR"
# The scheduler first, so it starts no new task while the API server its tasks report to goes away.
for name in scheduler triggerer dag-processor api-server receiver simulator; do
    proc_stop "$name"
done
