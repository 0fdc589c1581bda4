"""The alert agents: classified headlines -> rule matches -> one alert per (rule, story).

Stage 1, the match stage (``agents.alerts.match_stage``), runs on every partition of
``wirewatch.classified`` and forwards each headline with its matches to
``wirewatch.alert-candidates``, a single partition, where stage 2, ``raise_alerts``
(here), sees every source at once: it groups
headlines into stories, alerts once per (rule, story), sends update records as a
story's source count passes milestones (see desk.py), honours cooldowns and watches
for surges. It works in batches and yields to the event loop between slices of a
batch, so a flood of copies never starves classification and matching. Its
state (stories, alerted pairs, cooldowns, surge counts) is in Faust tables with
Kafka changelogs, so it survives restarts and moves with the partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from faust.types import TP

from agents.alerts.desk import STORY_WINDOW, AlertDesk
from agents.alerts.records import parse_time
from agents.alerts.rulebook import rulebook
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector
from agents.alerts.writebehind import WriteBehind
from streams import metrics
from streams.app import app
from streams.logs import log_event
from streams.records import AlertCandidate
from streams.runtime import current_config
from streams.topics import alert_candidates_topic, alerts_topic

log = logging.getLogger(__name__)

# use_partitioner: the desk writes its tables after a batch (and from a timer), outside the
# iteration of one event; all three have a single partition, so nothing else changes.
story_table = app.Table("stories", default=None, partitions=1, use_partitioner=True,
                        help="Story de-duplication index (see agents.alerts.stories).")
alerted_table = app.Table("alerted", default=None, partitions=1, use_partitioner=True,
                          help="(rule, story) pairs already alerted, and each rule's last alert.")
surge_table = app.Table("surges", default=None, partitions=1, use_partitioner=True,
                        help="Per rule and region mention counts for surge detection.")

DESK_BATCH = 1000  # candidates per batch: state is flushed once per batch
DESK_WAIT = 0.1  # seconds a lone candidate waits for company (bigger batches, fewer writes)
DESK_SLICE = 100  # candidates decided between two yields to the event loop
PRODUCER_BUFFER = 20_000  # table writes Faust may queue before it pauses the streams


def _observe_latency(headline: Mapping[str, Any], now: datetime) -> None:
    for stage, field in (("publication", "published"), ("fetch", "fetched_at")):
        when = parse_time(headline.get(field))
        if when is not None and when <= now:
            metrics.ALERT_LATENCY.labels(stage).observe((now - when).total_seconds())


def _open_desk() -> tuple[AlertDesk, tuple[WriteBehind, ...]]:
    """The desk over write-behind views of its three tables (flushed once per batch)."""
    stories, alerted, surges = (WriteBehind(t) for t in (story_table, alerted_table,
                                                        surge_table))
    interval = timedelta(seconds=current_config().stories.update_interval)
    desk = AlertDesk(StoryIndex(stories, STORY_WINDOW), alerted, SurgeDetector(surges),
                     rulebook.rules, update_interval=interval)
    return desk, (stories, alerted, surges)


def _decide(desk: AlertDesk, candidate: AlertCandidate, now: datetime) -> list[dict]:
    """The alerts of one candidate; a candidate the desk fails on is logged and skipped
    (its topic already turned away any record that is not an AlertCandidate)."""
    headline = candidate.headline.model_dump()
    try:
        alerts = desk.decide(headline, candidate.matches, now)
    except Exception as exc:
        log_event(log, logging.ERROR, "alerting_failed", exc_info=True, id=headline.get("id"),
                  error=repr(exc))
        return []
    if any(a["kind"] == "match" and not a["update"] for a in alerts):
        _observe_latency(headline, now)
    return alerts


async def _publish(alerts: list[dict], views: tuple[WriteBehind, ...]) -> None:
    """Publish ``alerts`` and wait until the broker has them, then write the desk's changed
    state. A crash in between replays the batch's candidates, and the desk may raise an
    alert again with the same ids (at-least-once); it never loses one. Writing state first
    could save an alert as raised whose send died with the process."""
    sent = []
    for alert in alerts:
        sent.append(await alerts_topic.send(key=alert["story_id"], value=alert))
        metrics.ALERTS.labels(alert["rule"], alert["severity"], alert["kind"]).inc()
        log_event(log, logging.INFO, "alert", rule=alert["rule"], kind=alert["kind"],
                  update=alert["update"], story=alert["story_id"], title=alert["title"],
                  sources=alert["sources_count"])
    if sent:
        await asyncio.gather(*sent)
    metrics.DESK_STATE_WRITES.inc(sum(view.flush() for view in views))


_running: list[tuple[AlertDesk, tuple[WriteBehind, ...]]] = []  # the desk, once started


@app.agent(alert_candidates_topic)
async def raise_alerts(candidates) -> None:  # noqa: ANN001 -- a Faust stream
    """Decides on batches of candidates; yields to the event loop every DESK_SLICE of them,
    so classification and matching keep running through a flood."""
    await rulebook.ready.wait()  # cooldowns come from the rules: none known before this
    # Table writes queue in Faust's producer buffer; past max_messages (100 by default)
    # Faust pauses every stream and drains it one message per wakeup (faust-streaming#173).
    # A batch's writes fit in this one.
    app.producer.buffer.max_messages = max(app.producer.buffer.max_messages,
                                           PRODUCER_BUFFER)
    # Faust finds a table key's partition in its producer's metadata, which covers only the
    # topics that producer has sent to: track the changelogs, or the first write may fail.
    client = app.producer._ensure_producer().client
    for table in (story_table, alerted_table, surge_table):
        await client.add_topic(table.changelog_topic.get_topic_name())
    desk, views = _open_desk()
    _running[:] = [(desk, views)]
    async for events in candidates.take_events(DESK_BATCH, within=DESK_WAIT):
        alerts: list[dict] = []
        for start in range(0, len(events), DESK_SLICE):
            now = datetime.now(UTC)
            for event in events[start : start + DESK_SLICE]:
                alerts += _decide(desk, event.value, now)
            metrics.DESK_CANDIDATES.inc(min(DESK_SLICE, len(events) - start))
            await asyncio.sleep(0)
        alerts += desk.due_updates(datetime.now(UTC))
        await _publish(alerts, views)


@app.timer(1.0)
async def release_held_updates() -> None:
    """Publish held updates whose interval has passed, also when no candidate arrives."""
    if not _running or not app.assignor.is_active(TP(alert_candidates_topic.get_topic_name(),
                                                      0)):
        return
    desk, views = _running[0]
    updates = desk.due_updates(datetime.now(UTC))
    if updates:
        await _publish(updates, views)
