#!/usr/bin/env bash
# Every service's api and worker as local processes, on the stack that deploy/local/stack.sh started.
#
#   deploy/local/services.sh start|stop|status
#
# start   runs each service's migrations (as the service's own role, in its own schema), seeds the demo inventory,
#         starts `python -m <svc> api` and `python -m <svc> worker`, waits until every api answers /readyz, and
#         prints the URLs. Logs: .local/logs/<svc>-{api,worker}.log; pids: .local/run/<svc>-{api,worker}.pid
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
PY="$REPO_ROOT/.venv/bin/python"
RUN_DIR="$REPO_ROOT/.local/run"
LOG_DIR="$REPO_ROOT/.local/logs"
PG_PORT="${PG_PORT:-15432}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
SERVICES=(intake evaluation allocation telemetry billing)
declare -A PORTS=([intake]=8001 [evaluation]=8002 [allocation]=8003 [telemetry]=8004 [billing]=8005)

AUTH_DIR="$REPO_ROOT/.local/auth"

ensure_keys() { # the token signing key pair, made once (intake signs, every service verifies)
    [[ -s $AUTH_DIR/private.pem && -s $AUTH_DIR/public.pem ]] && return 0
    mkdir -p "$AUTH_DIR" && chmod 700 "$AUTH_DIR"
    "$PY" - "$AUTH_DIR" <<'PY'
import os, sys
from servicekit.auth import generate_keypair
private, public = generate_keypair()
for name, text, mode in (("private.pem", private, 0o600), ("public.pem", public, 0o644)):
    path = os.path.join(sys.argv[1], name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as out:
        out.write(text)
PY
}

run_as() { # svc cmd... -> exec cmd with the service's environment (call it in a subshell or with &)
    local svc=$1 up=${1^^}
    shift
    export "${up}_DB__URL=postgresql+asyncpg://$svc:$svc@127.0.0.1:$PG_PORT/gpuplatform"
    export "${up}_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
    export "${up}_HTTP__HOST=127.0.0.1" "${up}_HTTP__PORT=${PORTS[$svc]}"
    export "${up}_AUTH__PUBLIC_KEYS_PEM=$(cat "$AUTH_DIR/public.pem")"
    if [[ $svc == intake ]]; then
        export "INTAKE_AUTH__PRIVATE_KEY_PEM=$(cat "$AUTH_DIR/private.pem")"
    fi
    exec "$@"
}

running() { # name -> 0 when its pid file names a live process
    local pid_file="$RUN_DIR/$1.pid"
    [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

launch() { # svc role
    local name="$1-$2"
    running "$name" && return 0
    run_as "$1" nohup "$PY" -m "$1" "$2" >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! >"$RUN_DIR/$name.pid"
}

wait_ready() { # svc
    local url="http://127.0.0.1:${PORTS[$1]}/readyz"
    for _ in $(seq 1 120); do
        if "$PY" -c "import urllib.request; urllib.request.urlopen('$url', timeout=2)" 2>/dev/null; then
            return 0
        fi
        running "$1-api" || { tail -n 30 "$LOG_DIR/$1-api.log" >&2; echo "$1 api exited" >&2; return 1; }
        sleep 0.5
    done
    echo "$1 api did not become ready; see $LOG_DIR/$1-api.log" >&2
    return 1
}

cmd_start() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    ensure_keys
    for svc in "${SERVICES[@]}"; do
        (run_as "$svc" "$PY" -m "$svc" migrate) >>"$LOG_DIR/$svc-migrate.log" 2>&1 \
            || { tail -n 30 "$LOG_DIR/$svc-migrate.log" >&2; exit 1; }
    done
    (run_as allocation "$PY" -m allocation seed-demo) >>"$LOG_DIR/allocation-seed.log" 2>&1 \
        || { tail -n 30 "$LOG_DIR/allocation-seed.log" >&2; exit 1; }
    if [[ ! -s $AUTH_DIR/operator.json ]]; then # the first operator's credentials, shown once, kept here
        (umask 077 && run_as intake "$PY" -m intake bootstrap-operator >"$AUTH_DIR/operator.json") \
            || { echo "could not create the first operator client" >&2; exit 1; }
    fi
    for svc in "${SERVICES[@]}"; do launch "$svc" api; launch "$svc" worker; done
    for svc in "${SERVICES[@]}"; do wait_ready "$svc"; done
    echo "Services are up (logs in .local/logs, stop with 'make stop'):"
    for svc in "${SERVICES[@]}"; do printf '  %-11s http://127.0.0.1:%s/docs\n' "$svc" "${PORTS[$svc]}"; done
    echo "Operator credentials (client id and secret for POST /oauth/token on intake): $AUTH_DIR/operator.json"
}

cmd_stop() {
    local name pid
    for svc in "${SERVICES[@]}"; do
        for role in api worker; do
            name="$svc-$role"
            running "$name" || { rm -f "$RUN_DIR/$name.pid"; continue; }
            pid=$(cat "$RUN_DIR/$name.pid")
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$RUN_DIR/$name.pid"
        done
    done
}

cmd_status() {
    local rc=0
    for svc in "${SERVICES[@]}"; do
        for role in api worker; do
            if running "$svc-$role"; then echo "$svc-$role: running"; else echo "$svc-$role: stopped"; rc=3; fi
        done
    done
    return "$rc"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
