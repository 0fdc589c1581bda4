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
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.alerts.matcher import Match, MatchedTerm
from agents.alerts.records import build_alert, build_surge_alert
from agents.alerts.rulebook import rulebook
from agents.alerts.stories import StoryAssignment, StoryIndex
from agents.alerts.surge import SurgeDetector
from streams import metrics
from streams.app import app
from streams.logs import log_event
from streams.topics import alert_candidates_topic, alerts_topic, classified_topic

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(hours=48)
REGION_SURGE_SEVERITY = "medium"

story_table = app.Table("stories", default=None, partitions=1,
                        help="Story de-duplication index (see agents.alerts.stories).")
alerted_table = app.Table("alerted", default=None, partitions=1,
                          help="(rule, story) pairs already alerted, and each rule's last alert.")
surge_table = app.Table("surges", default=None, partitions=1,
                        help="Per rule and region mention counts for surge detection.")


@app.agent(classified_topic)
async def match_headlines(classified) -> None:  # noqa: ANN001 -- a Faust stream
    await rulebook.ready.wait()
    async for key, headline in classified.items():
        try:
            matches = rulebook.matcher.match(headline)
        except Exception as exc:  # one odd headline must not stop the stream
            log.exception("match_failed id=%s error=%r", key, exc)
            matches = []
        await alert_candidates_topic.send(
            key=key, value={"headline": headline, "matches": [asdict(m) for m in matches]})


def _match_from_json(raw: Mapping[str, Any]) -> Match:
    terms = tuple(MatchedTerm(**term) for term in raw["matched"])
    return Match(rule=raw["rule"], severity=raw["severity"], matched=terms, score=raw["score"])


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _observe_latency(headline: Mapping[str, Any], now: datetime) -> None:
    for stage, field in (("publication", "published"), ("fetch", "fetched_at")):
        when = _parse_time(headline.get(field))
        if when is not None and when <= now:
            metrics.ALERT_LATENCY.labels(stage).observe((now - when).total_seconds())


class AlertDesk:
    """Stage 2's decisions, over mappings (Faust tables in the worker, dicts in tests)."""

    def __init__(self, stories: StoryIndex, alerted: Any, surges: SurgeDetector) -> None:
        self.stories = stories
        self.alerted = alerted
        self.surges = surges

    def _cooling_down(self, match: Match, now: datetime) -> bool:
        rule = rulebook.rules.get(match.rule)
        cooldown = rule.cooldown_delta if rule else None
        last = self.alerted.get(f"last:{match.rule}")
        return bool(cooldown and last and now.timestamp() - last < cooldown.total_seconds())

    def _for_match(self, match: Match, headline: Mapping[str, Any], story: StoryAssignment,
                   now: datetime) -> dict | None:
        pair = f"pair:{match.rule}:{story.story_id}"
        seen = self.alerted.get(pair)
        if seen is not None:
            if story.new_source and seen["state"] == "alerted":
                return build_alert(match, headline, story, detected_at=now, update=True)
            return None
        if self._cooling_down(match, now):  # later copies of this story stay quiet too
            self.alerted[pair] = {"state": "suppressed", "at": now.timestamp()}
            return None
        self.alerted[pair] = {"state": "alerted", "at": now.timestamp()}
        self.alerted[f"last:{match.rule}"] = now.timestamp()
        return build_alert(match, headline, story, detected_at=now)

    def _prune(self, now: datetime) -> None:
        """Hourly: forget (rule, story) pairs of stories older than the story window."""
        ts = now.timestamp()
        if ts - self.alerted.get("meta:pruned", 0.0) < 3600:
            return
        expired = [k for k, v in self.alerted.items()
                   if k.startswith("pair:") and v["at"] < ts - STORY_WINDOW.total_seconds()]
        for key in expired:
            del self.alerted[key]
        self.alerted["meta:pruned"] = ts

    def decide(self, headline: Mapping[str, Any], matches: list[Match],
               now: datetime) -> list[dict]:
        """The alerts (and update records) one candidate headline raises."""
        self._prune(now)
        alerts = []
        for region in headline.get("region_names") or ():
            surge = self.surges.observe(f"region:{region}", now)
            if surge:
                alerts.append(build_surge_alert(surge, rule=f"region:{region}",
                                                severity=REGION_SURGE_SEVERITY, detected_at=now))
        if not matches:
            return alerts
        story = self.stories.assign(headline, now)
        for match in matches:
            if story.is_new:
                surge = self.surges.observe(f"rule:{match.rule}", now)
                if surge:
                    alerts.append(build_surge_alert(surge, rule=match.rule,
                                                    severity=match.severity, detected_at=now))
            alert = self._for_match(match, headline, story, now)
            if alert is not None:
                alerts.append(alert)
        return alerts


@app.agent(alert_candidates_topic)
async def raise_alerts(candidates) -> None:  # noqa: ANN001 -- a Faust stream
    desk = AlertDesk(StoryIndex(story_table, STORY_WINDOW), alerted_table,
                     SurgeDetector(surge_table))
    async for candidate in candidates:
        now = datetime.now(UTC)
        headline = candidate["headline"]
        try:
            alerts = desk.decide(headline, [_match_from_json(m) for m in candidate["matches"]],
                                 now)
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
