"""Generate the provisioned Grafana dashboards with grafana-foundation-sdk.

The JSON under ``deploy/grafana/dashboards/`` is what Grafana loads; this script is
its source. After editing, regenerate with::

    .venv/bin/python deploy/grafana/build.py

``tests/deploy/test_dashboards.py`` fails when the committed JSON differs from what
this script produces. Every panel sums across workers (each worker exposes its own
``/metrics``), so no panel depends on how many workers run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

#: The uid of the datasource provisioned by provisioning/datasources/prometheus.yml.
DATASOURCE_UID = "wirewatch-prometheus"
DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

#: Scrape job of the workers in deploy/prometheus/prometheus.yml.
WORKERS = 'up{job="wirewatch"}'

#: Window of the feed health table: several polls even for slowly polled feeds.
HEALTH_WINDOW = "1h"

QUANTILES = (0.5, 0.95, 0.99)

#: refId of each query of a panel, in order.
REF_IDS = "ABCDEFGHIJ"

Panel = timeseries.Panel | table.Panel | stat.Panel


def query(expr: str, legend: str, ref_id: str) -> prometheus.Dataquery:
    """A range query drawn as a time series."""
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .datasource(DATASOURCE)
    )


def graph(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[tuple[str, str]],
    *,
    width: int = 12,
) -> timeseries.Panel:
    """A time-series panel of ``(expr, legend)`` pairs."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .height(8)
        .span(width)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    for (expr, legend), ref_id in zip(queries, REF_IDS, strict=False):
        panel = panel.with_target(query(expr, legend, ref_id))
    return panel


def per_minute(metric: str, by: str) -> str:
    """Rate of a counter per minute, summed over workers and grouped ``by``."""
    grouping = f" by ({by})" if by else ""
    return f"60 * sum{grouping} (rate({metric}[$__rate_interval]))"


def per_minute_graph(title: str, description: str, metric: str, by: str) -> timeseries.Panel:
    legend = " ".join(f"{{{{{label.strip()}}}}}" for label in by.split(","))
    return graph(title, description, "short", [(per_minute(metric, by), legend)])


def quantile_graph(
    title: str,
    description: str,
    buckets: str,
    unit: str,
    *,
    by: str = "",
    quantiles: Sequence[float] = QUANTILES,
) -> timeseries.Panel:
    """Quantiles of a histogram; ``buckets`` is its ``_bucket`` series with matchers."""
    grouping = f"le, {by}" if by else "le"
    prefix = f"{{{{{by}}}}} " if by else ""
    queries = [
        (
            f"histogram_quantile({q}, sum by ({grouping}) (rate({buckets}[$__rate_interval])))",
            f"{prefix}p{round(q * 100)}",
        )
        for q in quantiles
    ]
    return graph(title, description, unit, queries)


def outcome_ratio(outcome: str) -> str:
    """Share of a feed's polls with ``outcome``; 0 (not blank) for feeds without any."""
    polls = f"sum by (feed) (rate(wirewatch_feed_polls_total[{HEALTH_WINDOW}]))"
    matching = (
        f'sum by (feed) (rate(wirewatch_feed_polls_total{{outcome="{outcome}"}}[{HEALTH_WINDOW}]))'
    )
    return f"({matching} or 0 * {polls}) / {polls}"


def feed_health() -> table.Panel:
    """One row per feed: how long since it last worked, and how its polls end."""
    columns = [
        (
            "Since last success",
            "s",
            "time() - max by (feed) (wirewatch_feed_last_success_timestamp_seconds)",
        ),
        ("Poll interval", "s", "max by (feed) (wirewatch_feed_interval_seconds)"),
        (f"Error ratio ({HEALTH_WINDOW})", "percentunit", outcome_ratio("error")),
        (f"304 ratio ({HEALTH_WINDOW})", "percentunit", outcome_ratio("not_modified")),
    ]
    panel = (
        table.Panel()
        .title("Feed health")
        .description(
            "Per feed: time since the last successful poll (200 or 304), the configured "
            f"interval, and the share of polls over the last {HEALTH_WINDOW} that failed "
            "or answered 304 Not Modified."
        )
        .datasource(DATASOURCE)
        .height(10)
        .span(24)
        .with_transformation(dashboard.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dashboard.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "renameByName": {
                        f"Value #{ref_id}": name
                        for (name, _, _), ref_id in zip(columns, REF_IDS, strict=False)
                    },
                },
            )
        )
        .sort_by([common_builders.TableSortByFieldState().display_name("feed")])
    )
    for (name, unit, expr), ref_id in zip(columns, REF_IDS, strict=False):
        panel = panel.with_target(
            query(expr, "", ref_id).instant().format(PromQueryFormat.TABLE)
        ).override_by_name(name, [dashboard.DynamicConfigValue(id_val="unit", value=unit)])
    return panel


def single_stat(title: str, description: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .height(8)
        .span(6)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(query(expr, title, "A"))
    )


def board(uid: str, title: str, description: str, panels: Sequence[Panel]) -> str:
    """The dashboard as provisioned JSON text."""
    builder = (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["wirewatch"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .link(
            dashboard_builders.DashboardLink("Wirewatch")
            .type(dashboard.DashboardLinkType.DASHBOARDS)
            .tags(["wirewatch"])
            .as_dropdown(False)
            .keep_time(True)
        )
    )
    for panel_id, panel in enumerate(panels, start=1):
        builder = builder.with_panel(panel.id(panel_id))
    return json.dumps(builder.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def overview() -> str:
    return board(
        "wirewatch-overview",
        "Wirewatch Overview",
        "Headlines, classification, alerts and feed health, summed over all workers.",
        [
            per_minute_graph(
                "Headlines per minute by feed",
                "New headlines published to wirewatch.headlines.",
                "wirewatch_headlines_new_total",
                "feed",
            ),
            per_minute_graph(
                "Headlines per minute by topic",
                "Classified headlines by their best topic (\"none\" when no topic fits).",
                "wirewatch_headlines_classified_total",
                "topic",
            ),
            per_minute_graph(
                "Headlines per minute by region",
                "Classified headlines by region.",
                "wirewatch_headlines_by_region_total",
                "region",
            ),
            per_minute_graph(
                "Alerts per minute by rule and severity",
                "Alerts published to wirewatch.alerts.",
                "wirewatch_alerts_total",
                "rule, severity",
            ),
            quantile_graph(
                "Publication-to-alert latency",
                "From the time the source published the story to the alert.",
                'wirewatch_alert_latency_seconds_bucket{stage="publication"}',
                "s",
            ),
            quantile_graph(
                "Fetch-to-alert latency",
                "From the poll that fetched the story to the alert.",
                'wirewatch_alert_latency_seconds_bucket{stage="fetch"}',
                "s",
            ),
            feed_health(),
            per_minute_graph(
                "Feed poll errors per minute by reason",
                "Failed polls by reason (timeout, http_4xx, http_5xx, parse, ...).",
                "wirewatch_feed_poll_errors_total",
                "reason",
            ),
            per_minute_graph(
                "Sink deliveries per minute",
                "Alert deliveries to webhook sinks; failed ones go to wirewatch.alerts.dead.",
                "wirewatch_sink_deliveries_total",
                "sink, outcome",
            ),
        ],
    )


def pipeline() -> str:
    return board(
        "wirewatch-pipeline",
        "Wirewatch Pipeline",
        "Throughput, consumer lag and rebalances of the Wirewatch workers.",
        [
            single_stat(
                "Workers up",
                "Workers Prometheus scrapes successfully.",
                f"sum({WORKERS})",
            ),
            single_stat(
                "Workers down",
                "Workers Prometheus found but cannot scrape.",
                f"count({WORKERS} == 0) or vector(0)",
            ),
            graph(
                "Rebalances",
                "Consumer-group rebalances completed per minute, and in progress now.",
                "short",
                [
                    (
                        "60 * sum (rate(wirewatch_rebalance_done_latency_count[$__rate_interval]))",
                        "completed per minute",
                    ),
                    ("sum (wirewatch_total_rebalances)", "in progress"),
                    ("sum (wirewatch_total_rebalances_recovering)", "recovering"),
                ],
            ),
            graph(
                "Events per second by agent",
                "Events each agent's stream processed.",
                "short",
                [
                    (
                        "sum by (stream) "
                        "(rate(wirewatch_total_events_per_stream_total[$__rate_interval]))",
                        "{{stream}}",
                    )
                ],
            ),
            graph(
                "Messages per second by topic",
                "Messages the workers consumed from and produced to each topic.",
                "short",
                [
                    (
                        "sum by (topic) "
                        "(rate(wirewatch_messages_received_per_topic_total[$__rate_interval]))",
                        "in {{topic}}",
                    ),
                    (
                        "sum by (topic) "
                        "(rate(wirewatch_topic_messages_sent_total[$__rate_interval]))",
                        "out {{topic}}",
                    ),
                ],
            ),
            graph(
                "Consumer lag by topic",
                "Messages behind the end of each topic, summed over partitions.",
                "short",
                [("sum by (topic) (wirewatch_consumer_lag_messages)", "{{topic}}")],
            ),
            graph(
                "Consumer lag by partition",
                "Messages behind, per topic partition.",
                "short",
                [
                    (
                        "max by (topic, partition) (wirewatch_consumer_lag_messages)",
                        "{{topic}}/{{partition}}",
                    )
                ],
            ),
            quantile_graph(
                "Commit latency",
                "Time to commit consumer offsets.",
                "wirewatch_consumer_commit_latency_bucket",
                "ms",
            ),
            quantile_graph(
                "Classification time",
                "Time to classify one headline.",
                "wirewatch_classify_duration_seconds_bucket",
                "s",
            ),
            quantile_graph(
                "Feed poll duration p95 by feed",
                "Time to fetch and parse each feed (95th percentile).",
                "wirewatch_feed_poll_duration_seconds_bucket",
                "s",
                by="feed",
                quantiles=(0.95,),
            ),
            per_minute_graph(
                "Dead letters per minute",
                "Consumed records that broke their topic's contract, set aside on the "
                "dead-letter topic (<namespace>.dead), by source topic and reason.",
                "wirewatch_dead_letters_total",
                "topic, reason",
            ),
        ],
    )


DASHBOARDS: dict[str, Callable[[], str]] = {
    "overview.json": overview,
    "pipeline.json": pipeline,
}


def main() -> int:
    for name, render in DASHBOARDS.items():
        path = DASHBOARD_DIR / name
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
