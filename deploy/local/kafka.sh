#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) without Docker.
#
#   deploy/local/kafka.sh start|stop|status
#
# The broker jars come from Maven Central (deploy/local/kafka/pom.xml) and are copied
# once into .local/kafka/libs; everything else lives under .local/ at the repo root:
#   .local/kafka/server.properties   generated config (rewritten on every start)
#   .local/kafka/data                KRaft metadata + topic data (formatted once)
#   .local/run/kafka.pid             pid of the running broker
#   .local/logs/kafka.log            JVM stdout/stderr
#   .local/logs/kafka-server.log     broker log (log4j2, deploy/local/kafka/log4j2.properties)
#
# Environment overrides:
#   KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m"),
#   KAFKA_JVM_OPTS (G1, the full tiered JIT),
#   KAFKA_START_TIMEOUT (90 s), KAFKA_STOP_TIMEOUT (30 s), KAFKA_MVN_ARGS (extra mvn args),
#   JAVA_HOME / JAVA (java binary; Kafka 4.x brokers need Java 17+).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

LOCAL_DIR="$REPO_ROOT/.local"
KAFKA_DIR="$LOCAL_DIR/kafka"
LIBS_DIR="$KAFKA_DIR/libs"
LIBS_STAMP="$LIBS_DIR/.complete"
DATA_DIR="$KAFKA_DIR/data"
CONFIG_FILE="$KAFKA_DIR/server.properties"
RUN_DIR="$LOCAL_DIR/run"
PID_FILE="$RUN_DIR/kafka.pid"
LOCK_FILE="$RUN_DIR/kafka.lock"
LOG_DIR="$LOCAL_DIR/logs"
STDOUT_LOG="$LOG_DIR/kafka.log"
SERVER_LOG="$LOG_DIR/kafka-server.log"
SETUP_LOG="$LOG_DIR/kafka-setup.log"

POM_FILE="$SCRIPT_DIR/kafka/pom.xml"
LOG4J2_CONFIG="$SCRIPT_DIR/kafka/log4j2.properties"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# The JVM's full tiered JIT: once warm, the broker spends ~40% less CPU a message than with C1 alone
# (-XX:TieredStopAtLevel=1, ~1.5 s faster to start), and on two cores the services and the tests share that CPU
# (python -m bench pipeline prints the broker's CPU per message).
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_MVN_ARGS="${KAFKA_MVN_ARGS:-}"
# Fixed cluster id (from `kafka-storage random-uuid`): a throw-away dev cluster.
KAFKA_CLUSTER_ID="bIhegicxRfWdFm6D5bpNXA"
KAFKA_MIN_JAVA=17

die() {
    echo "kafka: ERROR: $*" >&2
    exit 1
}

note() {
    echo "kafka: $*" >&2
}

usage() {
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
}

# ---------------------------------------------------------------------------
# helpers

port_open() { # port -> 0 when something accepts TCP connections on 127.0.0.1:port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

proc_alive() { # pid -> 0 when the process exists and is not a zombie
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat%% *}" != Z ]]
}

is_our_broker() { # pid -> 0 when pid is a live kafka.Kafka started with our config
    local pid="$1" cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid" || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *" kafka.Kafka $CONFIG_FILE"* ]]
}

broker_pid() { # prints the pid of our running broker, fails if none
    local pid=""
    if [[ -f "$PID_FILE" ]]; then
        pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        if is_our_broker "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    # pid file missing or stale: look for a broker started with our config anyway.
    local dir
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        if is_our_broker "$pid"; then
            echo "$pid" >"$PID_FILE"
            echo "$pid"
            return 0
        fi
    done
    rm -f "$PID_FILE"
    return 1
}

show_logs() {
    local offset="${1:-0}"
    if [[ -s "$SERVER_LOG" ]]; then
        echo "----- last lines of $SERVER_LOG -----" >&2
        tail -c +"$((offset + 1))" "$SERVER_LOG" | tail -n 40 >&2 || true
    fi
    if [[ -s "$STDOUT_LOG" ]]; then
        echo "----- last lines of $STDOUT_LOG -----" >&2
        tail -n 20 "$STDOUT_LOG" >&2 || true
    fi
}

apt_install() { # packages... (only used on a fresh machine)
    command -v apt-get >/dev/null 2>&1 || return 1
    [[ "$(id -u)" == 0 ]] || return 1
    note "installing $* with apt-get (log: $SETUP_LOG)"
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    } >>"$SETUP_LOG" 2>&1 || {
        tail -n 20 "$SETUP_LOG" >&2
        die "apt-get install $* failed (see $SETUP_LOG)"
    }
}

find_java() {
    if [[ -n "${JAVA:-}" ]]; then
        JAVA_BIN="$JAVA"
    elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA_BIN="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA_BIN="$(command -v java)"
    else
        apt_install openjdk-17-jre-headless ||
            die "java not found; Kafka 4.x needs Java $KAFKA_MIN_JAVA+ (e.g. apt-get install openjdk-17-jre-headless)"
        JAVA_BIN="$(command -v java)" || die "java still not found after installing openjdk-17-jre-headless"
    fi
    local version
    version="$("$JAVA_BIN" -XshowSettings:properties -version 2>&1 |
        awk -F'= ' '/java.specification.version/ {print $2; exit}')"
    version="${version#1.}"
    [[ "$version" =~ ^[0-9]+$ ]] || die "could not determine the version of $JAVA_BIN"
    if ((version < KAFKA_MIN_JAVA)); then
        die "$JAVA_BIN is Java $version; the Kafka 4.x broker needs Java $KAFKA_MIN_JAVA+ (set JAVA_HOME)"
    fi
}

ensure_libs() {
    local pom_hash
    pom_hash="$(sha256sum "$POM_FILE" | cut -d' ' -f1)"
    if [[ -f "$LIBS_STAMP" && "$(cat "$LIBS_STAMP")" == "$pom_hash" ]]; then
        return 0 # already downloaded for this pom.xml: no mvn call
    fi
    if ! command -v mvn >/dev/null 2>&1; then
        apt_install maven || die "mvn not found; install Maven (e.g. apt-get install maven) to fetch the Kafka jars"
    fi
    local tmp="$KAFKA_DIR/libs.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # shellcheck disable=SC2086 # KAFKA_MVN_ARGS is intentionally word-split
    if ! mvn -B -q -Dstyle.color=never -f "$POM_FILE" $KAFKA_MVN_ARGS \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$SETUP_LOG" 2>&1; then
        rm -rf "$tmp"
        tail -n 30 "$SETUP_LOG" >&2
        die "downloading the Kafka jars with Maven failed (see $SETUP_LOG)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || {
        rm -rf "$tmp"
        die "Maven finished but no kafka_2.13 jar was copied (see $SETUP_LOG)"
    }
    echo "$pom_hash" >"$tmp/.complete"
    rm -rf "$LIBS_DIR"
    mv "$tmp" "$LIBS_DIR"
}

write_config() {
    local tmp="$CONFIG_FILE.tmp.$$"
    cat >"$tmp" <<EOF
# Generated by deploy/local/kafka.sh on every start -- do not edit.
# Single-node KRaft dev/test cluster: combined broker + controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR

# One node: every replication factor / ISR is 1.
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Test friendliness.
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
    mv "$tmp" "$CONFIG_FILE"
}

format_storage() {
    [[ -f "$DATA_DIR/meta.properties" ]] && return 0
    rm -rf "$DATA_DIR" # a half-formatted directory from an interrupted run
    if ! "$JAVA_BIN" -Xmx256m -Dlog4j2.configurationFile="$LOG4J2_CONFIG" -Dkafka.logs.dir="$LOG_DIR" \
        -cp "$LIBS_DIR/*" kafka.tools.StorageTool format \
        --config "$CONFIG_FILE" --cluster-id "$KAFKA_CLUSTER_ID" \
        >>"$SETUP_LOG" 2>&1; then
        tail -n 30 "$SETUP_LOG" >&2
        die "formatting the KRaft storage in $DATA_DIR failed (see $SETUP_LOG)"
    fi
}

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    local pid
    if pid="$(broker_pid)"; then
        if port_open "$KAFKA_PORT"; then
            return 0 # already running and answering
        fi
        die "a broker is running (pid $pid) but does not answer on 127.0.0.1:$KAFKA_PORT; try '$0 stop' first"
    fi
    if port_open "$KAFKA_PORT"; then
        die "port 127.0.0.1:$KAFKA_PORT is used by another process (set KAFKA_PORT to use another port)"
    fi
    if port_open "$KAFKA_CONTROLLER_PORT"; then
        die "port 127.0.0.1:$KAFKA_CONTROLLER_PORT is used by another process (set KAFKA_CONTROLLER_PORT)"
    fi

    ensure_libs
    find_java
    write_config
    format_storage

    local offset=0
    [[ -f "$SERVER_LOG" ]] && offset="$(stat -c %s "$SERVER_LOG")"
    echo "===== $(date -Is) kafka.sh start =====" >>"$STDOUT_LOG"

    # setsid: own session, so Ctrl-C, `timeout` or a CI step killing our process group
    # does not take the broker down. The inner shell writes its pid (= the java pid after
    # exec) because setsid may fork.
    rm -f "$PID_FILE"
    # shellcheck disable=SC2016,SC2086 # $$ is for the inner shell; *_OPTS are word-split
    setsid bash -c 'echo $$ >"$0" && exec "$@"' "$PID_FILE" \
        nohup "$JAVA_BIN" $KAFKA_HEAP_OPTS $KAFKA_JVM_OPTS -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J2_CONFIG" \
        -Dkafka.logs.dir="$LOG_DIR" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
        >>"$STDOUT_LOG" 2>&1 </dev/null 9>&- &
    for _ in $(seq 50); do
        [[ -s "$PID_FILE" ]] && break
        sleep 0.1
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || die "could not launch the broker (no pid written to $PID_FILE)"

    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while :; do
        if ! proc_alive "$pid"; then
            rm -f "$PID_FILE"
            show_logs "$offset"
            die "the broker exited during startup (logs above)"
        fi
        if [[ -f "$SERVER_LOG" ]] && (($(stat -c %s "$SERVER_LOG") < offset)); then
            offset=0 # the log rolled over during startup
        fi
        if port_open "$KAFKA_PORT" &&
            tail -c +"$((offset + 1))" "$SERVER_LOG" 2>/dev/null | grep -q 'Kafka Server started'; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            show_logs "$offset"
            stop_pid "$pid" >/dev/null 2>&1 || true
            rm -f "$PID_FILE"
            die "the broker did not become ready on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (stopped it; logs above)"
        fi
        sleep 0.5
    done
}

stop_pid() {
    local pid="$1" deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
    kill -TERM "$pid" 2>/dev/null || return 0
    while proc_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            note "broker (pid $pid) did not stop within ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
}

cmd_stop() {
    local pid
    if pid="$(broker_pid)"; then
        stop_pid "$pid"
        if proc_alive "$pid"; then
            die "could not stop the broker (pid $pid)"
        fi
    fi
    rm -f "$PID_FILE"
}

cmd_status() {
    local pid
    if pid="$(broker_pid)"; then
        if port_open "$KAFKA_PORT"; then
            echo "kafka: running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
            return 0
        fi
        echo "kafka: running (pid $pid) but not answering on 127.0.0.1:$KAFKA_PORT"
        return 1
    fi
    echo "kafka: stopped"
    return 3
}

main() {
    [[ $# -eq 1 ]] || usage
    case "$1" in
    start | stop | status) ;;
    *) usage ;;
    esac
    mkdir -p "$KAFKA_DIR" "$RUN_DIR" "$LOG_DIR"
    # Serialise concurrent invocations (fd 9 is closed for the broker itself).
    exec 9>"$LOCK_FILE"
    flock 9
    "cmd_$1"
}

main "$@"
