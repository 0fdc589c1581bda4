"""Observability in one place: Wirewatch's Prometheus metrics (one registry per process, served
at /metrics), and ``observe(app)``, which adds Faust's own sensor, the worker info and the
consumer-lag timer to that registry.

Label sets stay bounded: feed names come from the config, topics and regions
from fixed taxonomies, rules and sinks from the config, Kafka topics and dead-letter
reasons from ``streams.topics`` and ``streams.records``.
"""

from __future__ import annotations

from collections import Counter as CollectionsCounter
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    import faust

REGISTRY = CollectorRegistry(auto_describe=True)
LAG_INTERVAL = 5.0  # seconds between consumer-lag exports

_Metric = TypeVar("_Metric", Counter, Gauge, Histogram)


def _per_feed(kind: type[_Metric], name: str, documentation: str, *labels: str,
              **options: Any) -> _Metric:
    """A metric with a series per configured feed (label ``feed``, then ``labels``); the
    polling agent creates each feed's series at start."""
    return kind(name, documentation, ["feed", *labels], registry=REGISTRY, **options)


FEED_POLLS = _per_feed(Counter, "wirewatch_feed_polls_total",
                       "Feed polls by outcome (ok, not_modified, error).", "outcome")
FEED_POLL_ERRORS = _per_feed(Counter, "wirewatch_feed_poll_errors_total",
                             "Failed feed polls by reason.", "reason")
FEED_POLL_DURATION = _per_feed(Histogram, "wirewatch_feed_poll_duration_seconds",
                               "Time to fetch and parse one feed.",
                               buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
FEED_LAST_SUCCESS = _per_feed(Gauge, "wirewatch_feed_last_success_timestamp_seconds",
                              "Unix time of the feed's last successful poll (200 or 304).")
FEED_INTERVAL = _per_feed(Gauge, "wirewatch_feed_interval_seconds",
                          "Configured poll interval of the feed.")
FEED_ITEMS = _per_feed(Counter, "wirewatch_feed_items_total",
                       "Items found in successful parses of the feed.")
FEED_ENCODING_REPAIRS = _per_feed(
    Counter, "wirewatch_feed_encoding_repairs_total",
    "Fetched documents that claimed UTF-8 but were in a legacy code page, transcoded.")
HEADLINES_NEW = _per_feed(Counter, "wirewatch_headlines_new_total",
                          "New headlines published to wirewatch.headlines.")

HEADLINES_CLASSIFIED = Counter(
    "wirewatch_headlines_classified_total", "Classified headlines by best topic label.",
    ["topic"], registry=REGISTRY,
)
HEADLINES_BY_REGION = Counter(
    "wirewatch_headlines_by_region_total", "Classified headlines per region they concern.",
    ["region"], registry=REGISTRY,
)
CLASSIFY_DURATION = Histogram(
    "wirewatch_classify_duration_seconds", "Time to classify one headline.", registry=REGISTRY,
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
)
ALERTS = Counter(
    "wirewatch_alerts_total", "Alerts published, by rule, severity and kind (match, surge).",
    ["rule", "severity", "kind"], registry=REGISTRY,
)
ALERT_LATENCY = Histogram(
    "wirewatch_alert_latency_seconds",
    "Delay from the headline's publication (stage=publication) or fetch (stage=fetch) "
    "to its alert.",
    ["stage"], registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
RULE_RECORDS_REJECTED = Counter(
    "wirewatch_rule_records_rejected_total",
    "Records of the rules topic that are not a valid rule (logged as rule_rejected, skipped).",
    registry=REGISTRY,
)
RULES_LIVE = Gauge(
    "wirewatch_rules_live", "Rules live on the rules topic, as this worker read them.",
    registry=REGISTRY,
)
RULES_OUT_OF_SYNC = Gauge(
    "wirewatch_rules_out_of_sync",
    "Rules where the live rules topic differs from the worker's config, by kind: missing "
    "(in the config, not live), changed, extra (live, not in the config). 0 when in sync.",
    ["kind"], registry=REGISTRY,
)
DESK_CANDIDATES = Counter(
    "wirewatch_desk_candidates_total",
    "Alert candidates (classified headlines with their matches) the story desk decided on.",
    registry=REGISTRY,
)
DESK_STATE_WRITES = Counter(
    "wirewatch_desk_state_writes_total",
    "Changed keys the story desk wrote to wirewatch.desk-state (one per key per batch).",
    registry=REGISTRY,
)
SINK_DELIVERIES = Counter(
    "wirewatch_sink_deliveries_total", "Webhook deliveries by outcome (delivered, failed).",
    ["sink", "outcome"], registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "wirewatch_dead_letters_total",
    "Consumed records that broke their topic's contract, sent to wirewatch.dead, by source "
    "topic and reason.",
    ["topic", "reason"], registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "wirewatch_consumer_lag_messages",
    "Messages not yet committed by this worker, per assigned topic partition (Faust's "
    "consumer and the batch stages').",
    ["topic", "partition"], registry=REGISTRY,
)
ASSIGNED_PARTITIONS = Gauge(
    "wirewatch_assigned_partitions",
    "Partitions of each topic this worker holds in its consumer group's current assignment "
    "(poll-ticks: the share of feeds it polls).",
    ["topic"], registry=REGISTRY,
)
ASSIGNMENTS = Counter(
    "wirewatch_assignments_total",
    "Partition assignments this worker received: one per rebalance it took part in.",
    registry=REGISTRY,
)
REBALANCING = Gauge(
    "wirewatch_rebalancing",
    "1 while this worker is in a rebalance (partitions revoked, rejoining, or recovering its "
    "tables: no stream is processed, no feed polled), else 0.",
    registry=REGISTRY,
)
WORKER_INFO = Gauge(
    "wirewatch_worker_info", "Always 1; labels describe the worker.", ["version"],
    registry=REGISTRY,
)


def _worker_version() -> str:
    try:
        return version("wirewatch")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def observe(app: faust.App) -> None:
    """Export ``app``'s worker info, consumer lag and Faust's own sensor (messages, sends,
    rebalances, commit latency, offsets) through ``REGISTRY``."""
    from faust.sensors.prometheus import setup_prometheus_sensors

    WORKER_INFO.labels(_worker_version()).set(1)
    setup_prometheus_sensors(app, registry=REGISTRY, name_prefix="wirewatch")
    exported: set[tuple[str, str]] = set()

    async def export_consumer_lag() -> None:
        """Lag = partition high-water mark minus this worker's committed offset."""
        committed = app.monitor.tp_committed_offsets or {}
        current: set[tuple[str, str]] = set()
        for tp in app.consumer.assignment():
            highwater = app.consumer.highwater(tp)
            if highwater is None:
                continue
            labels = (tp.topic, str(tp.partition))
            CONSUMER_LAG.labels(*labels).set(max(0, highwater - committed.get(tp, 0)))
            current.add(labels)
        for labels in exported - current:  # partitions revoked from this worker
            CONSUMER_LAG.remove(*labels)
        exported.clear()
        exported.update(current)

    app.timer(LAG_INTERVAL, name="export_consumer_lag")(export_consumer_lag)
    _observe_assignment(app)


def _observe_assignment(app: faust.App) -> None:
    """Export what this worker holds after each rebalance, and whether one is under way:
    operators see how feeds and partitions are shared, and tests wait for a settled group."""
    REBALANCING.set_function(lambda: float(bool(app.rebalancing)))
    exported: set[str] = set()

    @app.on_partitions_assigned.connect
    async def export_assignment(sender: object, assigned: set, **_: object) -> None:
        ASSIGNMENTS.inc()
        held = CollectionsCounter(tp.topic for tp in assigned)
        for topic in exported - held.keys():  # topics this worker no longer holds
            ASSIGNED_PARTITIONS.labels(topic).set(0)
        for topic, count in held.items():
            ASSIGNED_PARTITIONS.labels(topic).set(count)
        exported.update(held)

