"""The alert agents: classified headlines -> rule matches -> one alert per (rule, story).

Stage 1, ``match_headlines``, runs on every partition of ``wirewatch.classified``
and only matches rules (the costly part, spread over the workers). It forwards
each headline with its matches to ``wirewatch.alert-candidates``, a single
partition, where stage 2, ``raise_alerts``, sees every source at once: it groups
headlines into stories, alerts once per (rule, story), sends an update record
when a story gains a source, honours cooldowns and watches for surges. Its
state (stories, alerted pairs, cooldowns, surge counts) is in Faust tables with
Kafka changelogs, so it survives restarts and moves with the partition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agents.alerts.desk import STORY_WINDOW, AlertDesk
from agents.alerts.rulebook import rulebook
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector
from streams import metrics
from streams.app import app
from streams.logs import log_event
from streams.records import AlertCandidate
from streams.topics import alert_candidates_topic, alerts_topic, classified_topic

log = logging.getLogger(__name__)

story_table = app.Table("stories", default=None, partitions=1,
                        help="Story de-duplication index (see agents.alerts.stories).")
alerted_table = app.Table("alerted", default=None, partitions=1,
                          help="(rule, story) pairs already alerted, and each rule's last alert.")
surge_table = app.Table("surges", default=None, partitions=1,
                        help="Per rule and region mention counts for surge detection.")


@app.agent(classified_topic)
async def match_headlines(classified) -> None:  # noqa: ANN001 -- a Faust stream
    await rulebook.ready.wait()
    async for key, record in classified.items():
        headline = record.model_dump()
        try:
            matches = rulebook.matcher.match(headline)
        except Exception as exc:  # one odd headline must not stop the stream
            log.exception("match_failed id=%s error=%r", key, exc)
            matches = []
        await alert_candidates_topic.send(
            key=key, value=AlertCandidate(headline=record, matches=matches))


def _parse_time(value: object) -> datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when it names no offset), or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _observe_latency(headline: Mapping[str, Any], now: datetime) -> None:
    for stage, field in (("publication", "published"), ("fetch", "fetched_at")):
        when = _parse_time(headline.get(field))
        if when is not None and when <= now:
            metrics.ALERT_LATENCY.labels(stage).observe((now - when).total_seconds())


@app.agent(alert_candidates_topic)
async def raise_alerts(candidates) -> None:  # noqa: ANN001 -- a Faust stream
    await rulebook.ready.wait()  # cooldowns come from the rules: none known before this
    desk = AlertDesk(StoryIndex(story_table, STORY_WINDOW), alerted_table,
                     SurgeDetector(surge_table), rulebook.rules)
    async for candidate in candidates:  # AlertCandidate: its topic turns away any other shape
        now = datetime.now(UTC)
        headline = candidate.headline.model_dump()
        try:
            alerts = desk.decide(headline, candidate.matches, now)
        except Exception as exc:
            log.exception("alerting_failed id=%s error=%r", headline.get("id"), exc)
            continue
        for alert in alerts:
            await alerts_topic.send(key=alert["story_id"], value=alert)
            metrics.ALERTS.labels(alert["rule"], alert["severity"], alert["kind"]).inc()
            log_event(log, logging.INFO, "alert", rule=alert["rule"], kind=alert["kind"],
                      update=alert["update"], story=alert["story_id"], title=alert["title"])
            if alert["kind"] == "match" and not alert["update"]:
                _observe_latency(headline, now)
