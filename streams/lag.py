"""Consumer lag per assigned topic partition, exported as a metric every few seconds."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from streams import metrics
from streams.app import app

_exported: set[tuple[str, str]] = set()

try:
    metrics.WORKER_INFO.labels(version("wirewatch")).set(1)
except PackageNotFoundError:  # running from a source tree that is not installed
    metrics.WORKER_INFO.labels("unknown").set(1)


@app.timer(5.0)
async def export_consumer_lag() -> None:
    """Lag = partition high-water mark minus this worker's committed offset."""
    committed = app.monitor.tp_committed_offsets or {}
    current: set[tuple[str, str]] = set()
    for tp in app.consumer.assignment():
        highwater = app.consumer.highwater(tp)
        if highwater is None:
            continue
        labels = (tp.topic, str(tp.partition))
        metrics.CONSUMER_LAG.labels(*labels).set(max(0, highwater - committed.get(tp, 0)))
        current.add(labels)
    for labels in _exported - current:  # partitions revoked from this worker
        metrics.CONSUMER_LAG.remove(*labels)
    _exported.clear()
    _exported.update(current)
