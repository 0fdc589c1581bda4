#!/usr/bin/env bash
# Run a real single-node Apache Kafka (KRaft) broker for local tests, without Docker.
# The broker jars come from Maven Central through deploy/kafka/pom.xml.
#
# Usage: deploy/kafka/local.sh fetch|start|stop|status|logs
#
# Environment:
#   KAFKA_PORT             client listener on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener (default KAFKA_PORT+1)
#   KAFKA_HOME_DIR         cache dir (default <repo>/.cache/kafka); jars in libs/,
#                          per-port state in run/<port>/ (data wiped on every start)
#   KAFKA_HEAP_OPTS        broker heap (default -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 60)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
#   JAVA, MVN              java and mvn executables (default: from PATH)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
POM="$HERE/pom.xml"
TEMPLATE="$HERE/server.properties.in"
LOG_CONFIG="$HERE/log4j2.yaml"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$REPO/.cache/kafka}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

LIBS="$KAFKA_HOME_DIR/libs"
STAMP="$LIBS/.pom.sha256"
RUN="$KAFKA_HOME_DIR/run/$KAFKA_PORT"
DATA="$RUN/data"
LOGS="$RUN/logs"
PROPS="$RUN/server.properties"
PID_FILE="$RUN/kafka.pid"

die() {
    echo "local.sh: $*" >&2
    exit 1
}

# Resolve the pinned jars into $LIBS unless they already match pom.xml.
fetch() {
    local want
    want="$(sha256sum "$POM" | cut -d' ' -f1)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        return 0
    fi
    command -v "$MVN" >/dev/null || die "mvn not found (set MVN); needed to fetch Kafka jars"
    mkdir -p "$KAFKA_HOME_DIR"
    local tmp
    tmp="$(mktemp -d "$KAFKA_HOME_DIR/libs.XXXXXX")"
    echo "local.sh: fetching Kafka jars from Maven Central into $LIBS" >&2
    if ! "$MVN" -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$KAFKA_HOME_DIR/fetch.log" 2>&1; then
        rm -rf "$tmp"
        cat "$KAFKA_HOME_DIR/fetch.log" >&2
        die "mvn could not resolve $POM (output above)"
    fi
    echo "$want" >"$tmp/.pom.sha256"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
}

# Run a Kafka main class from the fetched jars; tool output goes to tools.log.
run_tool() {
    "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -cp "$LIBS/*" \
        -Dlog4j2.configurationFile="$LOG_CONFIG" \
        -Dkafka.logs.dir="$LOGS" -Dkafka.log.name=tools "$@"
}

read_pid() {
    [[ -f "$PID_FILE" ]] && cat "$PID_FILE"
}

# True when the pid file names a live broker started from this run dir.
running() {
    local pid
    pid="$(read_pid)" || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $PROPS"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

render_properties() {
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$DATA|g" \
        "$TEMPLATE" >"$PROPS"
}

# 16 random bytes, URL-safe base64 without padding: the form Kafka uses for cluster ids.
new_cluster_id() {
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

fail_start() {
    echo "local.sh: $1; last log lines from $LOGS:" >&2
    tail -n 40 "$LOGS/server.log" "$LOGS/stdout.log" >&2 2>/dev/null || true
    stop >/dev/null 2>&1 || true
    exit 1
}

start() {
    running && die "broker already running on 127.0.0.1:$KAFKA_PORT (pid $(read_pid))"
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$port" && die "port $port on 127.0.0.1 is already in use"
    done
    fetch
    rm -rf "$DATA" "$LOGS"
    mkdir -p "$DATA" "$LOGS"
    render_properties
    run_tool kafka.tools.StorageTool format --config "$PROPS" \
        --cluster-id "$(new_cluster_id)" >"$LOGS/format.log" 2>&1 ||
        die "storage format failed: $(cat "$LOGS/format.log")"

    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
    setsid nohup "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG_CONFIG" \
        -Dkafka.logs.dir="$LOGS" -Dkafka.log.name=server \
        -cp "$LIBS/*" kafka.Kafka "$PROPS" >"$LOGS/stdout.log" 2>&1 </dev/null &
    echo $! >"$PID_FILE"

    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    until port_open "$KAFKA_PORT"; do
        running || fail_start "broker exited during startup"
        ((SECONDS < deadline)) || fail_start "no listener after ${KAFKA_START_TIMEOUT}s"
        sleep 0.5
    done
    until run_tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1; do
        running || fail_start "broker exited during startup"
        ((SECONDS < deadline)) || fail_start "broker not answering after ${KAFKA_START_TIMEOUT}s"
        sleep 1
    done
    echo "local.sh: Kafka up at kafka://127.0.0.1:$KAFKA_PORT (pid $(read_pid), logs $LOGS)"
}

stop() {
    if ! running; then
        rm -f "$PID_FILE"
        echo "local.sh: no broker running on port $KAFKA_PORT"
        return 0
    fi
    local pid
    pid="$(read_pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "local.sh: broker ignored SIGTERM for ${KAFKA_STOP_TIMEOUT}s; killing" >&2
        kill -KILL "$pid"
        while kill -0 "$pid" 2>/dev/null; do
            sleep 0.2
        done
    fi
    rm -f "$PID_FILE"
    echo "local.sh: broker on port $KAFKA_PORT stopped"
}

status() {
    if running; then
        echo "running: kafka://127.0.0.1:$KAFKA_PORT pid $(read_pid)"
    else
        echo "stopped: port $KAFKA_PORT"
        return 3
    fi
}

logs() {
    [[ -f "$LOGS/server.log" ]] || die "no log at $LOGS/server.log"
    tail -n "${LINES:-100}" "$LOGS/server.log"
}

case "${1:-}" in
    fetch) fetch ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    logs) logs ;;
    *) die "usage: $0 fetch|start|stop|status|logs" ;;
esac
