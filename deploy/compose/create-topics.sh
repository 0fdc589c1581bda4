#!/bin/sh
# One-shot topic creator of docker-compose.yml (runs in the apache/kafka image).
# Data topics get WIREWATCH_PARTITIONS partitions (default 6) so that up to that many
# workers share them (`docker compose up --scale worker=3`); the rules topic is a
# single compacted partition read by every worker as a global table. Faust creates
# its own changelog and repartition topics. Safe to run again: existing topics stay.
set -eu

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${WIREWATCH_PARTITIONS:-6}"
REPLICATION="${WIREWATCH_REPLICATION:-1}"
KAFKA_TOPICS="${KAFKA_BIN:-/opt/kafka/bin}/kafka-topics.sh"

create() {
    topic="$1"
    shift
    "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$topic" --replication-factor "$REPLICATION" "$@"
}

for topic in wirewatch.poll-ticks wirewatch.headlines wirewatch.classified \
    wirewatch.alerts wirewatch.alerts.dead; do
    create "$topic" --partitions "$PARTITIONS"
done
create wirewatch.rules --partitions 1 --config cleanup.policy=compact
# Story de-duplication sees every source at once: one partition (see README).
create wirewatch.alert-candidates --partitions 1

"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list
