#!/usr/bin/env bash
# Run a real single-node Apache Kafka (KRaft) broker for local tests, without Docker.
# The broker jars come from Maven Central through deploy/kafka/pom.xml.
#
# Usage: deploy/kafka/local.sh fetch|start|resume|stop|status|logs
#   start wipes the port's data and formats it; resume starts on the data a stop left
#   (a broker restart: topics, offsets and committed records survive).
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
#   KAFKA_SECURITY         plaintext (default) or sasl_ssl: clients must then use
#                          SASL (SCRAM-SHA-256/512 or PLAIN) over TLS on KAFKA_PORT, and
#   KAFKA_TLS_KEYSTORE     PEM file: the broker's private key (PKCS#8, unencrypted)
#                          and certificate chain, valid for 127.0.0.1 (sasl_ssl only)
#   KAFKA_TLS_CA           PEM file: the CA that signed it (sasl_ssl only)
#   KAFKA_SASL_USERS       space-separated name:password pairs ([A-Za-z0-9._-]), created
#                          at format time with both SCRAM mechanisms and listed for PLAIN
#                          (sasl_ssl only). Test credentials: they are on the format
#                          tool's command line and in the rendered properties.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
POM="$HERE/pom.xml"
KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
case "$KAFKA_SECURITY" in
    plaintext) TEMPLATE="$HERE/server.properties.in" ;;
    sasl_ssl) TEMPLATE="$HERE/server-sasl-ssl.properties.in" ;;
    *) echo "local.sh: KAFKA_SECURITY=$KAFKA_SECURITY: use plaintext or sasl_ssl" >&2; exit 1 ;;
esac
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
# Admin client settings for the tools (sasl_ssl: the broker's own SCRAM user).
CLIENT_PROPS="$RUN/client.properties"

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

# Hex, so that it needs no quoting in sed, JAAS or the format tool's arguments.
BROKER_PASSWORD=""
PLAIN_USERS=""

render_properties() {
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$DATA|g" \
        -e "s|@KEYSTORE@|${KAFKA_TLS_KEYSTORE:-}|g" \
        -e "s|@TRUSTSTORE@|${KAFKA_TLS_CA:-}|g" \
        -e "s|@BROKER_PASSWORD@|$BROKER_PASSWORD|g" \
        -e "s|@PLAIN_USERS@|$PLAIN_USERS|g" \
        "$TEMPLATE" >"$PROPS"
    : >"$CLIENT_PROPS"
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then
        cat >"$CLIENT_PROPS" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_TLS_CA
PROPS
    fi
}

# sasl_ssl: check the inputs; print the format tool's --add-scram arguments.
scram_arguments() {
    local file user mechanism
    for file in "${KAFKA_TLS_KEYSTORE:-}" "${KAFKA_TLS_CA:-}"; do
        [[ -n "$file" && -r "$file" ]] ||
            die "KAFKA_SECURITY=sasl_ssl needs readable KAFKA_TLS_KEYSTORE and KAFKA_TLS_CA"
    done
    [[ -n "${KAFKA_SASL_USERS:-}" ]] || die "KAFKA_SECURITY=sasl_ssl needs KAFKA_SASL_USERS"
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=broker,password=$BROKER_PASSWORD]"
    for user in $KAFKA_SASL_USERS; do
        [[ "$user" =~ ^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$ ]] ||
            die "KAFKA_SASL_USERS: '${user%%:*}' is not name:password of [A-Za-z0-9._-]"
        for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
            printf '%s\n' --add-scram "$mechanism=[name=${user%%:*},password=${user#*:}]"
        done
    done
}

# sasl_ssl: the PLAIN login module's user_NAME="PASSWORD" options.
plain_users() {
    local user
    for user in $KAFKA_SASL_USERS; do
        printf 'user_%s="%s" ' "${user%%:*}" "${user#*:}"
    done
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

# start: fresh data; resume: the data a previous start/stop on this port left.
start() {
    local mode="${1:-fresh}"
    # A sasl_ssl broker's own SCRAM password is made anew at each start: no resume.
    [[ "$mode" != resume || "$KAFKA_SECURITY" == plaintext ]] ||
        die "resume: plaintext brokers only"
    running && die "broker already running on 127.0.0.1:$KAFKA_PORT (pid $(read_pid))"
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$port" && die "port $port on 127.0.0.1 is already in use"
    done
    local scram=()
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then
        BROKER_PASSWORD="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        local arguments
        arguments="$(scram_arguments)" || exit 1
        mapfile -t scram <<<"$arguments"
        PLAIN_USERS="$(plain_users)"
    fi
    fetch
    if [[ "$mode" == resume ]]; then
        [[ -f "$DATA/meta.properties" ]] || die "no broker data to resume in $DATA; use start"
        mkdir -p "$LOGS"
        render_properties
    else
        rm -rf "$DATA" "$LOGS"
        mkdir -p "$DATA" "$LOGS"
        chmod 700 "$RUN"
        render_properties
        run_tool kafka.tools.StorageTool format --config "$PROPS" \
            --cluster-id "$(new_cluster_id)" "${scram[@]}" >"$LOGS/format.log" 2>&1 ||
            die "storage format failed: $(cat "$LOGS/format.log")"
    fi

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
    until run_tool org.apache.kafka.tools.TopicCommand --command-config "$CLIENT_PROPS" \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1; do
        running || fail_start "broker exited during startup"
        ((SECONDS < deadline)) || fail_start "broker not answering after ${KAFKA_START_TIMEOUT}s"
        sleep 1
    done
    echo "local.sh: Kafka up at kafka://127.0.0.1:$KAFKA_PORT ($KAFKA_SECURITY," \
        "pid $(read_pid), logs $LOGS)"
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
    resume) start resume ;;
    stop) stop ;;
    status) status ;;
    logs) logs ;;
    *) die "usage: $0 fetch|start|resume|stop|status|logs" ;;
esac
