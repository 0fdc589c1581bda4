"""The Faust application every Wirewatch process runs.

Agents live in the ``agents`` package and are found by Faust's autodiscovery when
a worker starts, so this package never imports them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import faust

from streams import metrics
from streams.settings import Settings

settings = Settings.from_env()

app = faust.App(
    settings.namespace,
    broker=settings.broker,
    broker_credentials=settings.kafka_security.faust_credentials(),
    store="memory://",  # tables are rebuilt from their Kafka changelogs on start
    # Nothing durable is kept locally; keep Faust's scratch folder out of the cwd.
    datadir=Path(tempfile.gettempdir()) / f"wirewatch-{settings.namespace}-data",
    autodiscover=["streams.polling", "agents"],
    origin="streams",
    web_port=settings.web_port,
    web_bind=settings.web_bind,
    # The port is for /metrics: Faust's /table/... views would show the feed state (errors,
    # URLs) and /router the cluster's layout to anyone who can reach it.
    web_tables_enabled=False,
    web_router_enabled=False,
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication,
    consumer_auto_offset_reset="earliest",
    # A topic created moments before the group formed can be missing from the broker's
    # metadata at assignment time; refreshing often gets its partitions assigned within
    # seconds instead of after aiokafka's default 5 minutes.
    consumer_metadata_max_age_ms=5_000,
    producer_acks=-1,
    table_standby_replicas=0,
    web_enabled=True,
)
metrics.observe(app)  # worker info, consumer lag and Faust's sensor, all at /metrics
