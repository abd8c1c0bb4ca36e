# shellcheck shell=bash
# Background processes with pid files: start one, tell whether it runs, stop it. Sourced, never run.
# Needs STACK_RUN and STACK_LOGS (env.sh).
#
# A pid file holds "<pid> <start time>": the start time (from /proc) tells the process we started
# from an unrelated one that got the same pid later, so `make down` never signals a stranger.
# Each process leads its own process group (setsid), so stopping it also stops the workers,
# task runners and log servers it forked — and nothing else.

STOP_TIMEOUT="${VBOTFLOW_STOP_TIMEOUT:-30}"

proc_start_time() {
    # Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces, so cut after ") ".
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    echo "$stat" | cut -d' ' -f20
}

proc_pid() {
    # The recorded pid of NAME if that very process is still alive; fails otherwise.
    local file="$STACK_RUN/$1.pid" pid start
    [ -f "$file" ] || return 1
    read -r pid start <"$file" || true
    [ -n "${pid:-}" ] && [ -n "${start:-}" ] || return 1
    [ "$(proc_start_time "$pid" 2>/dev/null)" = "$start" ] || return 1
    echo "$pid"
}

proc_start() {
    # proc_start NAME COMMAND... : run COMMAND in the background, logging to $STACK_LOGS/NAME.log.
    local name="$1" pid
    shift
    mkdir -p "$STACK_RUN" "$STACK_LOGS"
    if pid="$(proc_pid "$name")"; then
        echo "  $name: already running (pid $pid)"
        return 0
    fi
    rm -f "$STACK_RUN/$name.pid"
    # Without job control a background child is no group leader, so setsid makes it one in place
    # (no fork): $! is then both its pid and its process group id.
    setsid "$@" >>"$STACK_LOGS/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(proc_start_time "$pid")" >"$STACK_RUN/$name.pid"
    # setsid() runs a moment after the fork; if the group never becomes the pid's, stopping by group
    # would miss it, so refuse to go on.
    local tries=0
    while [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" != "$pid" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 50 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "  $name: did not start as its own process group (pid $pid)" >&2
            proc_log_tail "$name"
            return 1
        fi
        sleep 0.05
    done
    echo "  $name: started (pid $pid), log $STACK_LOGS/$name.log"
}

proc_group_alive() {
    kill -0 -- "-$1" 2>/dev/null
}

proc_stop() {
    # proc_stop NAME [leader]: SIGTERM to NAME's process group (with "leader": to NAME alone, which
    # stops its children itself, as a Celery worker's warm shutdown does), SIGKILL to the group after
    # $STOP_TIMEOUT seconds.
    local name="$1" how="${2:-group}" pid waited=0
    if ! pid="$(proc_pid "$name")"; then
        [ -f "$STACK_RUN/$name.pid" ] && echo "  $name: not running (stale pid file removed)"
        rm -f "$STACK_RUN/$name.pid"
        return 0
    fi
    if [ "$how" = leader ]; then
        kill -TERM "$pid" 2>/dev/null || true
    else
        kill -TERM -- "-$pid" 2>/dev/null || true
    fi
    while proc_group_alive "$pid" && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if proc_group_alive "$pid"; then
        echo "  $name: still running after ${STOP_TIMEOUT}s, killing"
        kill -KILL -- "-$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$STACK_RUN/$name.pid"
    echo "  $name: stopped (pid $pid)"
}

proc_log_tail() {
    echo "---- last lines of $STACK_LOGS/$1.log ----" >&2
    tail -n "${2:-30}" "$STACK_LOGS/$1.log" >&2 2>/dev/null || true
}
