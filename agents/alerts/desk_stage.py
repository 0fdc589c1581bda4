"""Stage 2 of alerting, the story desk: one alert per (rule, story), exactly once.

The desk reads ``wirewatch.alert-candidates`` (one partition, so it sees every source at
once) as a transactional ``BatchStage``: it groups headlines into stories, alerts once per
(rule, story), sends updates as a story's source count passes milestones (``desk.py``),
honours cooldowns and watches for surges. Each batch of up to ``DESK_BATCH`` candidates is
one Kafka transaction: its alerts, the state keys it changed (``wirewatch.desk-state``,
``desk_state.py``) and its input offset. A worker killed mid-batch leaves nothing of that
batch visible to ``read_committed`` readers; the next owner of the partition fences it,
reads the state to its end and handles the batch again, with the same result.

The state lives in memory while the worker holds the partition, is read back from the
changelog when it is assigned, and dropped when it is revoked. Held updates (``desk.py``)
go out with the next batch, or when a poll brings no candidate at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import TopicPartition

from agents.alerts.desk import STORY_WINDOW, AlertDesk
from agents.alerts.desk_state import DeskState, read_changelog
from agents.alerts.records import parse_time
from agents.alerts.rulebook import rulebook
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector
from streams import metrics
from streams.app import settings
from streams.batch_stage import Output, StageRecord
from streams.contract_topic import encode_value
from streams.logs import log_event
from streams.records import Alert, AlertCandidate
from streams.runtime import current_config
from streams.topics import (
    ALERT_CANDIDATES,
    ALERTS,
    DESK_STATE,
    alerts_topic,
    desk_state_topic,
)
from streams.worker_stage import worker_stage

log = logging.getLogger(__name__)

DESK_BATCH = 1000  # candidates per batch (one transaction); state is written once per batch
DESK_WAIT_MS = 100  # a lone candidate waits this long for company (bigger batches)
DESK_SLICE = 100  # candidates decided between two yields to the event loop


def _observe_latency(headline: Mapping[str, Any], now: datetime) -> None:
    for stage, field in (("publication", "published"), ("fetch", "fetched_at")):
        when = parse_time(headline.get(field))
        if when is not None and when <= now:
            metrics.ALERT_LATENCY.labels(stage).observe((now - when).total_seconds())


def _decide(desk: AlertDesk, candidate: Mapping[str, Any], now: datetime) -> list[dict]:
    """The alerts of one candidate (an ``AlertCandidate`` as dicts: its headline a dict,
    its matches ``Match``es); one the desk fails on is logged and skipped (the stage
    already turned away any record that is not an AlertCandidate)."""
    headline = candidate["headline"]
    try:
        alerts = desk.decide(headline, candidate["matches"], now)
    except Exception as exc:
        log_event(log, logging.ERROR, "alerting_failed", exc_info=True, id=headline.get("id"),
                  error=repr(exc))
        return []
    if any(a["kind"] == "match" and not a["update"] for a in alerts):
        _observe_latency(headline, now)
    return alerts


class StoryDesk:
    """The desk of the partition this worker holds (None while it holds none)."""

    def __init__(self) -> None:
        self.state: DeskState | None = None
        self.desk: AlertDesk | None = None

    async def load(self, tp: TopicPartition) -> None:
        """On assignment: the state as committed, before any candidate is decided."""
        started = time.monotonic()
        for topic in (desk_state_topic, alerts_topic):  # never auto-created with defaults
            await topic.maybe_declare()
        state = DeskState()
        read = await read_changelog(DESK_STATE, settings.kafka_client_options, state)
        interval = timedelta(seconds=current_config().stories.update_interval)
        stores = state.stores
        self.desk = AlertDesk(StoryIndex(stores["stories"], STORY_WINDOW), stores["alerted"],
                              SurgeDetector(stores["surges"]), rulebook.rules,
                              update_interval=interval)
        self.state = state
        log_event(log, logging.INFO, "desk_state_loaded", topic=DESK_STATE, records=read,
                  keys=state.size(), seconds=round(time.monotonic() - started, 3))

    async def drop(self, tp: TopicPartition) -> None:
        self.state = self.desk = None

    async def handle(self, tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
        """One batch: its alerts and changed state (no records: held updates only)."""
        desk, state = self.desk, self.state
        assert desk is not None and state is not None, "a batch before the state was loaded"
        alerts: list[dict] = []
        for start in range(0, len(records), DESK_SLICE):
            now = datetime.now(UTC)
            for record in records[start : start + DESK_SLICE]:
                alerts += _decide(desk, record.value, now)
            metrics.DESK_CANDIDATES.inc(min(DESK_SLICE, len(records) - start))
            await asyncio.sleep(0)  # classification and matching go on meanwhile
        alerts += desk.due_updates(datetime.now(UTC))
        outputs = [Output(ALERTS, alert["story_id"], encode_value(Alert, alert))
                   for alert in alerts]
        for alert in alerts:
            metrics.ALERTS.labels(alert["rule"], alert["severity"], alert["kind"]).inc()
            log_event(log, logging.INFO, "alert", rule=alert["rule"], kind=alert["kind"],
                      update=alert["update"], story=alert["story_id"], title=alert["title"],
                      sources=alert["sources_count"])
        changes = state.changes()
        metrics.DESK_STATE_WRITES.inc(len(changes))
        return outputs + [Output(DESK_STATE, key, value, 0)  # its one partition
                          for key, value in changes]


story_desk = StoryDesk()
desk_stage = worker_stage(
    "desk", ALERT_CANDIDATES, AlertCandidate, story_desk.handle,
    transactional=settings.kafka_transactions,  # off: at-least-once (run --demo's broker)
    on_assign=story_desk.load, on_revoke=story_desk.drop, idle=True,
    max_records=DESK_BATCH, wait_ms=DESK_WAIT_MS,
    as_dicts=True,  # the desk works on dicts: checked and built in one pass, no model_dump
    ready=(rulebook.ready,),  # cooldowns come from the rules: nothing decided before them
)
