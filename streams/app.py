"""The Faust application every Wirewatch process runs.

Agents live in the ``agents`` package and are found by Faust's autodiscovery when
a worker starts, so this package never imports them.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from pathlib import Path
from typing import Any

import faust

from streams import metrics
from streams.settings import Settings

settings = Settings.from_env()

# Python's cyclic GC runs a young-generation pass every 700 net container allocations, and
# every pass moves survivors along until a full pass walks the classifier's millions of
# objects and the desk's state. A batch of 1,000 decoded records survives several passes:
# decoding one alert candidate cost 81 us with the default, 35 us with 50,000 (16 us with
# the GC off; bench/flood.py, docs/PERFORMANCE.md). Reference counting still frees nearly
# everything at once; only cyclic garbage waits for the larger threshold.
GC_YOUNG_THRESHOLD = 50_000
gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)


class Worker(faust.Worker):
    """Faust's worker without its terminal spinner. At log level warning or above the
    spinner sets the root logger to DEBUG (to spin on every record), so each debug call
    in Faust's and aiokafka's send paths built a record only to drop it: 8% of a busy
    worker's time under py-spy (issue 11). It also wrote escape codes into piped logs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None


class ModuleLoadError(RuntimeError):
    """A module of the worker (an agent or a stage) could not be imported."""


class App(faust.App):
    """Faust's app, except that a module autodiscovery cannot import stops the process.
    Faust only logs a warning and runs on without that module's agents and stages: a
    worker that never classifies or alerts, and says so only once, at start."""

    def _on_autodiscovery_error(self, name: str) -> None:
        error = sys.exc_info()[1]
        raise ModuleLoadError(f"cannot import {name}: {error!r}") from error


app = App(
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
    # Sends within 5 ms share one produce request: without it each send was its own request
    # and socket write (18% of a busy worker's time under py-spy, issue 11). 5 ms is
    # nothing against the 200 ms the pipeline may add to a headline.
    producer_linger=0.005,
    table_standby_replicas=0,
    web_enabled=True,
    Worker=Worker,
)
metrics.observe(app)  # worker info, consumer lag and Faust's sensor, all at /metrics
