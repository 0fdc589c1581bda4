#!/bin/sh
# One-shot topic creator of docker-compose.yml (runs in the apache/kafka image).
# The topics come from topics.txt, which `wirewatch topics list --relative` generates
# from streams/topics.py: one "name partitions [config]" line each, names without the
# namespace. Data topics ("data") get WIREWATCH_PARTITIONS partitions (default 6) so that
# up to that many workers share them (`docker compose up --scale worker=3`); the rules
# topic is a single compacted partition read by every worker as a global table. Faust
# creates its own changelog topics. Safe to run again: existing topics stay.
set -eu

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
NAMESPACE="${WIREWATCH_NAMESPACE:-wirewatch}"
PARTITIONS="${WIREWATCH_PARTITIONS:-6}"
REPLICATION="${WIREWATCH_REPLICATION:-1}"
KAFKA_TOPICS="${KAFKA_BIN:-/opt/kafka/bin}/kafka-topics.sh"
TOPICS_FILE="${TOPICS_FILE:-$(dirname "$0")/topics.txt}"

grep -v '^#' "$TOPICS_FILE" | while read -r name partitions config; do
    [ -n "$name" ] || continue
    if [ "$partitions" = data ]; then
        partitions="$PARTITIONS"
    fi
    "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$NAMESPACE.$name" --replication-factor "$REPLICATION" \
        --partitions "$partitions" ${config:+--config "$config"}
done

"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list
