#!/usr/bin/env bash
# Local PostgreSQL cluster for development and tests, without Docker.
#
#   deploy/local/postgres.sh start|stop|status
#
# Uses the binaries of Debian's `postgresql` package (installed with apt-get when
# missing) but runs our OWN cluster, not Debian's "main" one:
#   data      .local/postgres/data  (or /var/tmp/gpuplatform-postgres-<hash>/data when the
#             `postgres` OS user cannot reach the repo; .local/postgres/DATA_LOCATION then
#             points there)
#   socket    the data directory's parent (or /tmp if that path is too long for a socket)
#   log       .local/logs/postgres.log
#   listens   127.0.0.1:${PG_PORT:-15432} only
#
# On every start it (idempotently) provisions:
#   databases gpuplatform and gpuplatform_test, owned by role platform (LOGIN CREATEDB)
#   roles     intake evaluation allocation billing telemetry dashboard (password = name),
#             each owning a schema of the same name in both databases
#   extension btree_gist in both databases (and template1, so new test databases get it)
#
# Environment overrides: PG_PORT (15432), PG_START_TIMEOUT (60 s).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

LOCAL_DIR="$REPO_ROOT/.local"
LOCAL_PG_DIR="$LOCAL_DIR/postgres"
LOCATION_FILE="$LOCAL_PG_DIR/DATA_LOCATION"
LOG_DIR="$LOCAL_DIR/logs"
LOG_FILE="$LOG_DIR/postgres.log"
SETUP_LOG="$LOG_DIR/postgres-setup.log"
RUN_DIR="$LOCAL_DIR/run"
LOCK_FILE="$RUN_DIR/postgres.lock"

PG_PORT="${PG_PORT:-15432}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"

APP_DATABASES=(gpuplatform gpuplatform_test)
APP_OWNER=platform
SERVICES=(intake evaluation allocation billing telemetry dashboard)

# libpq environment that would otherwise leak into our admin commands.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGDATA || true

die() {
    echo "postgres: ERROR: $*" >&2
    exit 1
}

note() {
    echo "postgres: $*" >&2
}

usage() {
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
}

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

# Run a PostgreSQL program as the `postgres` OS user (PostgreSQL refuses to run as
# root); a non-root caller runs its own cluster as itself. cd / avoids "could not
# change directory" noise when the caller's cwd is not readable by postgres.
as_pg() {
    if ((IS_ROOT)); then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# ---------------------------------------------------------------------------
# binaries

find_pg_bin() { # [major] -> sets PG_BIN to the newest (or the given) installed version
    local want="${1:-}" candidate=""
    if [[ -n "$want" ]]; then
        [[ -x "/usr/lib/postgresql/$want/bin/postgres" ]] && candidate="/usr/lib/postgresql/$want/bin"
    else
        candidate="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
            sort -V | tail -n 1)"
        candidate="${candidate%/postgres}"
    fi
    [[ -n "$candidate" ]] || return 1
    PG_BIN="$candidate"
}

apt_install() {
    ((IS_ROOT)) || die "PostgreSQL is not installed and we are not root: run 'sudo apt-get install -y postgresql postgresql-contrib'"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available"
    note "installing $* with apt-get (log: $SETUP_LOG)"
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
    } >>"$SETUP_LOG" 2>&1 || {
        tail -n 20 "$SETUP_LOG" >&2
        die "apt-get install $* failed (see $SETUP_LOG)"
    }
}

ensure_installed() {
    if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        apt_install postgresql postgresql-contrib
    fi
    find_pg_bin || die "no /usr/lib/postgresql/*/bin/postgres even after installing postgresql"
}

ensure_btree_gist() {
    local sharedir
    sharedir="$("$PG_BIN/pg_config" --sharedir 2>/dev/null || true)"
    [[ -n "$sharedir" ]] || sharedir="/usr/share/postgresql/$(basename "$(dirname "$PG_BIN")")"
    if [[ ! -f "$sharedir/extension/btree_gist.control" ]]; then
        apt_install postgresql-contrib
        [[ -f "$sharedir/extension/btree_gist.control" ]] ||
            die "btree_gist is still missing from $sharedir/extension after installing postgresql-contrib"
    fi
}

# ---------------------------------------------------------------------------
# where the cluster lives

choose_location() { # sets PG_BASE (parent of the data dir) and PG_DATA
    mkdir -p "$LOCAL_PG_DIR"
    local fallback
    fallback="/var/tmp/gpuplatform-postgres-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"

    if [[ -f "$LOCATION_FILE" ]]; then
        PG_BASE="$(cat "$LOCATION_FILE")"
    elif ((IS_ROOT)) && ! { chown postgres:postgres "$LOCAL_PG_DIR" &&
        runuser -u postgres -- test -w "$LOCAL_PG_DIR" -a -x "$LOCAL_PG_DIR"; }; then
        # The postgres user cannot traverse the path to the repo (e.g. under /root):
        # keep the cluster under /var/tmp and remember where it is. If that directory
        # exists without our pointer file, .local/postgres was deleted (= reset): wipe it.
        if [[ -d "$fallback" ]]; then
            if [[ -f "$fallback/data/postmaster.pid" ]]; then
                as_pg "$PG_BIN/pg_ctl" -D "$fallback/data" -m fast -w stop >/dev/null 2>&1 || true
            fi
            rm -rf "$fallback"
        fi
        PG_BASE="$fallback"
        echo "$PG_BASE" >"$LOCATION_FILE"
    else
        PG_BASE="$LOCAL_PG_DIR"
    fi
    mkdir -p "$PG_BASE"
    if ((IS_ROOT)); then
        chown postgres:postgres "$PG_BASE"
        chmod 0750 "$PG_BASE"
    fi
    PG_DATA="$PG_BASE/data"

    # Unix socket paths are limited to ~107 bytes.
    SOCKET_DIR="$PG_BASE"
    if ((${#SOCKET_DIR} + 20 > 100)); then
        SOCKET_DIR=/tmp
    fi
}

# ---------------------------------------------------------------------------
# cluster

init_cluster() {
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        local major
        major="$(cat "$PG_DATA/PG_VERSION")"
        find_pg_bin "$major" ||
            die "$PG_DATA was created by PostgreSQL $major, which is not installed; reset with: rm -rf $LOCAL_PG_DIR"
        return 0
    fi
    # initdb into a temporary directory and rename, so an interrupted initdb never
    # leaves a half-initialised data directory behind.
    local tmp="$PG_BASE/data.initdb"
    rm -rf "$tmp"
    # Loopback-only dev/test cluster: trust on the Unix socket (used by this script
    # as the `postgres` superuser), passwords (scram-sha-256) over TCP on 127.0.0.1.
    if ! as_pg "$PG_BIN/initdb" -D "$tmp" -U postgres --encoding=UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >>"$SETUP_LOG" 2>&1; then
        tail -n 20 "$SETUP_LOG" >&2
        die "initdb failed (see $SETUP_LOG)"
    fi
    echo "include_if_exists = 'local-dev.conf'" >>"$tmp/postgresql.conf"
    mv "$tmp" "$PG_DATA"
}

write_config() {
    local conf="$PG_DATA/local-dev.conf"
    cat >"$conf.tmp" <<EOF
# Generated by deploy/local/postgres.sh on every start -- do not edit.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 300
shared_buffers = 128MB
# Throw-away test data: durability off for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    # each statement's calls and time, for the benchmarks (bench/pipeline.py) and anyone asking where time goes
    if [[ -f "${PG_BIN%/bin}/lib/pg_stat_statements.so" ]]; then
        echo "shared_preload_libraries = 'pg_stat_statements'" >>"$conf.tmp"
    fi
    mv "$conf.tmp" "$conf"
    if ((IS_ROOT)); then
        chown postgres:postgres "$conf"
    fi
}

proc_alive() { # pid -> 0 when the process exists and is not a zombie
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat%% *}" != Z ]]
}

pg_running() { # 0 when the postmaster named in our postmaster.pid is alive
    # (Not `pg_ctl status`: it takes a dead-but-unreaped postmaster for a running one.)
    local pid
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres* ]]
}

server_pids() { # pids of live processes running in our data directory (postgres chdirs there)
    local dir pid
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        [[ "$(readlink "$dir/cwd" 2>/dev/null)" == "$PG_DATA" ]] || continue
        proc_alive "$pid" && echo "$pid"
    done
    return 0
}

clear_stale_lock() { # after a crash: no postmaster, but postmaster.pid (and maybe orphans) left
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
    pg_running && return 0
    local pids deadline=$((SECONDS + 10))
    while pids="$(server_pids)" && [[ -n "$pids" ]]; do
        if ((SECONDS >= deadline)); then
            note "killing leftover server processes of a crashed postmaster: $(echo "$pids" | tr '\n' ' ')"
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.3
    done
    rm -f "$PG_DATA/postmaster.pid"
    # Same for the socket lock file when it names a dead (or unreaped zombie) process.
    local sock_lock="$SOCKET_DIR/.s.PGSQL.$PG_PORT.lock" pid
    pid="$(head -n 1 "$sock_lock" 2>/dev/null)" || return 0
    if [[ "$pid" =~ ^[0-9]+$ ]] && ! proc_alive "$pid"; then
        rm -f "$sock_lock" "$SOCKET_DIR/.s.PGSQL.$PG_PORT"
    fi
}

pg_ready() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_ready() {
    local deadline=$((SECONDS + PG_START_TIMEOUT))
    until pg_ready; do
        if ((SECONDS >= deadline)); then
            tail -n 30 "$LOG_FILE" >&2 || true
            die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${PG_START_TIMEOUT}s (log: $LOG_FILE)"
        fi
        sleep 0.3
    done
}

psql_admin() { # db -> runs stdin as the postgres superuser over the Unix socket
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$1"
}

provision() {
    local db svc
    {
        echo "SET client_min_messages = warning;"
        echo "DO \$\$ BEGIN"
        for svc in "$APP_OWNER" "${SERVICES[@]}"; do
            echo "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$svc') THEN CREATE ROLE $svc; END IF;"
        done
        echo "END \$\$;"
        echo "ALTER ROLE $APP_OWNER WITH LOGIN CREATEDB PASSWORD '$APP_OWNER';"
        # the tests drop their databases WITH (FORCE), which must end any session left in them
        echo "GRANT pg_signal_backend TO $APP_OWNER;"
        for svc in "${SERVICES[@]}"; do
            echo "ALTER ROLE $svc WITH LOGIN PASSWORD '$svc';"
            # platform may act on every service schema (migrations, test cleanup).
            echo "GRANT $svc TO $APP_OWNER;"
        done
        for db in "${APP_DATABASES[@]}"; do
            echo "SELECT 'CREATE DATABASE $db OWNER $APP_OWNER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec"
            echo "ALTER DATABASE $db OWNER TO $APP_OWNER;"
        done
    } | psql_admin postgres >>"$SETUP_LOG" 2>&1 || {
        tail -n 20 "$SETUP_LOG" >&2
        die "creating roles/databases failed (see $SETUP_LOG)"
    }

    echo "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS btree_gist;" |
        psql_admin template1 >>"$SETUP_LOG" 2>&1 || {
        tail -n 20 "$SETUP_LOG" >&2
        die "CREATE EXTENSION btree_gist in template1 failed (see $SETUP_LOG)"
    }
    # the statements' statistics, read from the postgres database (every database's, by dbid); only once loaded
    {
        echo "SET client_min_messages = warning;"
        echo "SELECT 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'"
        echo "  WHERE current_setting('shared_preload_libraries') ~ 'pg_stat_statements' \\gexec"
        echo "GRANT pg_read_all_stats TO $APP_OWNER;"
    } | psql_admin postgres >>"$SETUP_LOG" 2>&1 || {
        tail -n 20 "$SETUP_LOG" >&2
        die "CREATE EXTENSION pg_stat_statements in postgres failed (see $SETUP_LOG)"
    }
    for db in "${APP_DATABASES[@]}"; do
        {
            echo "SET client_min_messages = warning;"
            echo "CREATE EXTENSION IF NOT EXISTS btree_gist;"
            for svc in "${SERVICES[@]}"; do
                echo "CREATE SCHEMA IF NOT EXISTS $svc AUTHORIZATION $svc;"
                echo "ALTER SCHEMA $svc OWNER TO $svc;"
            done
        } | psql_admin "$db" >>"$SETUP_LOG" 2>&1 || {
            tail -n 20 "$SETUP_LOG" >&2
            die "creating schemas/extensions in $db failed (see $SETUP_LOG)"
        }
    done
}

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    ensure_installed
    choose_location
    if pg_running; then
        wait_ready
        provision
        return 0
    fi
    ensure_btree_gist
    init_cluster
    clear_stale_lock
    if port_open "$PG_PORT"; then
        die "port 127.0.0.1:$PG_PORT is used by another process (set PG_PORT to use another port)"
    fi
    write_config
    touch "$LOG_FILE"
    echo "===== $(date -Is) postgres.sh start =====" >>"$LOG_FILE"
    # No -l: the server inherits this (root-opened) log file as stdout/stderr, so it
    # works even when the postgres user cannot write to .local/logs.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t "$PG_START_TIMEOUT" start \
        >>"$LOG_FILE" 2>&1 </dev/null 9>&-; then
        tail -n 30 "$LOG_FILE" >&2 || true
        die "PostgreSQL failed to start (log: $LOG_FILE)"
    fi
    wait_ready
    provision
}

cmd_stop() {
    [[ -f "$LOCAL_PG_DIR/DATA_LOCATION" || -d "$LOCAL_PG_DIR/data" ]] || return 0
    ensure_installed
    choose_location
    pg_running || return 0
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >>"$LOG_FILE" 2>&1; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "pg_ctl stop failed (log: $LOG_FILE)"
    fi
}

cmd_status() {
    if [[ -f "$LOCAL_PG_DIR/DATA_LOCATION" || -d "$LOCAL_PG_DIR/data" ]] &&
        compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        find_pg_bin
        choose_location
        if pg_running; then
            if pg_ready; then
                echo "postgres: running on 127.0.0.1:$PG_PORT (data: $PG_DATA)"
                return 0
            fi
            echo "postgres: running but not answering on 127.0.0.1:$PG_PORT (data: $PG_DATA)"
            return 1
        fi
    fi
    echo "postgres: stopped"
    return 3
}

main() {
    [[ $# -eq 1 ]] || usage
    case "$1" in
    start | stop | status) ;;
    *) usage ;;
    esac
    mkdir -p "$LOCAL_DIR" "$LOG_DIR" "$RUN_DIR"
    exec 9>"$LOCK_FILE"
    flock 9
    "cmd_$1"
}

main "$@"
