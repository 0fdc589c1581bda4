"""Alert delivery: each alert goes to every sink (webhook, Apprise, Alertmanager) that
accepts it, in the background.

The worker holding an alert's partition delivers it: a ``BatchStage`` reads
``wirewatch.alerts`` with ``read_committed``, so an alert of a desk transaction that was
aborted (its worker killed mid-batch) is never delivered. Deliveries run as tasks
(at most ``PER_SINK`` at once per sink), so a slow or dead sink never blocks the
stream; after its last retry a failed alert goes to ``wirewatch.alerts.dead``
with the sink, the error and the attempts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

import aiohttp
from aiokafka import TopicPartition

from agents.alerts.rulebook import rulebook
from agents.alerts.sink_kinds import Sink, load_sinks
from agents.alerts.sinks import accepts, deliver
from streams import metrics
from streams.app import settings
from streams.batch_stage import Output, StageRecord
from streams.logs import log_event
from streams.records import Alert
from streams.runtime import current_config
from streams.topics import ALERTS, alerts_dead_topic
from streams.worker_stage import worker_stage

log = logging.getLogger(__name__)

PER_SINK = 4
_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(PER_SINK))
_pending: set[asyncio.Task] = set()


@cache
def configured_sinks() -> tuple[Sink, ...]:
    config = current_config()
    return tuple(load_sinks(config.sinks, source=str(settings.config_path)))


async def deliver_to(sink: Sink, alert: dict[str, Any]) -> None:
    rule = rulebook.rules.get(str(alert.get("rule")))
    cooldown = rule.cooldown_delta if rule is not None else None
    async with _slots[sink.name], aiohttp.ClientSession() as session:
        result = await deliver(session, sink, alert, cooldown=cooldown)
    metrics.SINK_DELIVERIES.labels(sink.name, "delivered" if result.delivered else "failed").inc()
    if result.delivered:
        return
    log_event(log, logging.WARNING, "sink_delivery_failed", sink=sink.name,
              alert=alert.get("alert_id"), attempts=result.attempts, error=result.error)
    await alerts_dead_topic.send(key=alert.get("story_id"), value={
        "alert": alert, "sink": sink.name, "error": result.error, "attempts": result.attempts,
        "status": result.status, "failed_at": datetime.now(UTC).isoformat(),
    })


async def deliver_batch(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
    """Start the deliveries of a batch of alerts; their outcomes are the tasks' business."""
    for record in records:  # Alert: the stage turned away any other shape
        if record.value.update:  # updates raise sources_count on the topic, not in chats
            continue
        alert = record.value.model_dump(mode="json")
        for sink in configured_sinks():
            if accepts(sink, alert):
                task = asyncio.create_task(deliver_to(sink, alert))
                _pending.add(task)
                task.add_done_callback(_pending.discard)
    return []


delivery_stage = worker_stage("delivery", ALERTS, Alert, deliver_batch, max_records=500)
