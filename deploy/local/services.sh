#!/usr/bin/env bash
# Every service's api and worker as local processes under supervisord, on the stack that deploy/local/stack.sh
# started. supervisord restarts a process that exits (with backoff when it dies at start; see supervisor_config.py).
#
#   deploy/local/services.sh start|stop|status|restart <name>|restart all
#
# start    runs each service's migrations (as the service's own role, in its own schema), seeds the demo inventory,
#          writes .local/supervisor/supervisord.conf, starts supervisord (or applies a changed config to the running
#          one), waits until every api answers /readyz, and prints the URLs.
# stop     stops supervisord and, first, every process it runs (SIGTERM, then SIGKILL after stopwaitsecs).
# status   supervisorctl status: exit code 0 only when all ten are RUNNING.
# restart  one program (e.g. allocation-worker) or all; also brings a FATAL one back.
# Logs: .local/logs/<svc>-{api,worker}.log and supervisord.log. More: .venv/bin/supervisorctl -c <conf> help.
# LOCAL_DIR, API_PORT_BASE (8000) and HEALTH_PORT_BASE (8100) move a second copy's files and ports away from a
# running one (it shares the database and the topics);
# SERVICES_START_TIMEOUT (120 s) bounds the wait for each api.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
PY="$REPO_ROOT/.venv/bin/python"
LOCAL_DIR="${LOCAL_DIR:-$REPO_ROOT/.local}"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/logs"
AUTH_DIR="$LOCAL_DIR/auth"
CONF="$LOCAL_DIR/supervisor/supervisord.conf"
PIDFILE="$RUN_DIR/supervisord.pid"
PG_PORT="${PG_PORT:-15432}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
API_PORT_BASE="${API_PORT_BASE:-8000}"
HEALTH_PORT_BASE="${HEALTH_PORT_BASE:-8100}"
SERVICES=(intake evaluation allocation telemetry billing dashboard)
declare -A PORTS=([intake]=1 [evaluation]=2 [allocation]=3 [telemetry]=4 [billing]=5 [dashboard]=6)
for svc in "${SERVICES[@]}"; do PORTS[$svc]=$((API_PORT_BASE + PORTS[$svc])); done

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

run_as() { # svc cmd... -> exec cmd with the service's environment (call it in a subshell)
    local svc=$1 up=${1^^}
    shift
    export "${up}_DB__URL=postgresql+asyncpg://$svc:$svc@127.0.0.1:$PG_PORT/gpuplatform"
    export "${up}_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
    export "${up}_AUTH__PUBLIC_KEYS_PEM=$(cat "$AUTH_DIR/public.pem")"
    if [[ $svc == intake ]]; then
        export "INTAKE_AUTH__PRIVATE_KEY_PEM=$(cat "$AUTH_DIR/private.pem")"
    fi
    exec "$@"
}

ctl() { "$REPO_ROOT/.venv/bin/supervisorctl" -c "$CONF" "$@"; }

daemon_running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop_pidfile_processes() { # what the pid-file version of this script started, so its ports are free again
    local pid_file pid
    for pid_file in "$RUN_DIR"/{intake,evaluation,allocation,telemetry,billing,dashboard}-{api,worker}.pid; do
        [[ -f $pid_file ]] || continue
        pid=$(cat "$pid_file")
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file"
    done
}

launch_supervisord() {
    "$PY" "$SCRIPT_DIR/supervisor_config.py" --local-dir "$LOCAL_DIR" --python "$PY" --pg-port "$PG_PORT" \
        --kafka-port "$KAFKA_PORT" --api-port-base "$API_PORT_BASE" --health-port-base "$HEALTH_PORT_BASE" >/dev/null
    if daemon_running; then # apply a changed config, and start what stopped or went FATAL
        ctl update >/dev/null
        ctl start all >/dev/null 2>&1 || true
        return 0
    fi
    "$REPO_ROOT/.venv/bin/supervisord" -c "$CONF"
    for _ in $(seq 1 40); do ctl pid >/dev/null 2>&1 && return 0; sleep 0.25; done
    tail -n 30 "$LOG_DIR/supervisord.log" >&2
    echo "supervisord did not start; see $LOG_DIR/supervisord.log" >&2
    return 1
}

wait_ready() { # svc: its api answers /readyz, which also needs a recent heartbeat of its worker
    local url="http://127.0.0.1:${PORTS[$1]}/readyz" deadline=$((SECONDS + ${SERVICES_START_TIMEOUT:-120})) fatal
    while ((SECONDS < deadline)); do
        if "$PY" -c "import urllib.request; urllib.request.urlopen('$url', timeout=2)" 2>/dev/null; then
            return 0
        fi
        fatal=$(ctl status "$1-api" "$1-worker" 2>/dev/null | awk '$2 == "FATAL" {print $1; exit}' || true)
        if [[ -n $fatal ]]; then
            tail -n 30 "$LOG_DIR/$fatal.log" >&2
            echo "$fatal keeps exiting at start (FATAL); fix it, then: $0 restart $fatal" >&2
            return 1
        fi
        sleep 1
    done
    echo "$1 api did not become ready; see $LOG_DIR/$1-api.log and $LOG_DIR/$1-worker.log" >&2
    return 1
}

cmd_start() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    stop_pidfile_processes
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
    launch_supervisord
    for svc in "${SERVICES[@]}"; do wait_ready "$svc"; done
    echo "Services are up under supervisord (logs in $LOG_DIR, '$0 status', stop with 'make stop'):"
    for svc in "${SERVICES[@]}"; do printf '  %-11s http://127.0.0.1:%s/docs\n' "$svc" "${PORTS[$svc]}"; done
    echo "Operator credentials (client id and secret for POST /oauth/token on intake): $AUTH_DIR/operator.json"
}

cmd_stop() {
    stop_pidfile_processes
    daemon_running || { rm -f "$PIDFILE"; return 0; }
    local pid
    pid=$(cat "$PIDFILE")
    # shutdown stops every program at once (each gets its stopwaitsecs, 30 s at most) before supervisord exits;
    # SIGTERM does the same
    ctl shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }; sleep 0.25; done
    echo "supervisord (pid $pid) is still stopping its programs; see $LOG_DIR/supervisord.log" >&2
    return 1
}

cmd_status() {
    daemon_running || { echo "supervisord is not running (start with: $0 start)"; return 3; }
    ctl status
}

cmd_restart() {
    [[ -n ${1:-} ]] || { echo "usage: $0 restart <svc>-api|<svc>-worker|all" >&2; exit 2; }
    daemon_running || { echo "supervisord is not running (start with: $0 start)" >&2; return 3; }
    ctl restart "$1"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart) cmd_restart "${2:-}" ;;
*) echo "usage: $0 {start|stop|status|restart <name>}" >&2; exit 2 ;;
esac
