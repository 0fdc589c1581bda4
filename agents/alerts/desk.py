"""Alert decisions: one alert per (rule, story), updates, cooldowns, surges (pure logic)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from agents.alerts.matcher import Match
from agents.alerts.records import build_alert, build_surge_alert
from agents.alerts.rules import Rule
from agents.alerts.stories import StoryAssignment, StoryIndex
from agents.alerts.surge import SurgeDetector

STORY_WINDOW = timedelta(hours=48)
REGION_SURGE_SEVERITY = "medium"


class AlertDesk:
    """Stage 2's decisions over mappings: Faust tables in the worker, dicts in tests.

    ``alerted`` holds ``pair:<rule>:<story>`` -> {state, at} (``alerted``, or
    ``suppressed`` by a cooldown), ``last:<rule>`` -> time of the rule's last alert,
    and ``meta:pruned``.
    """

    def __init__(self, stories: StoryIndex, alerted: MutableMapping[str, Any],
                 surges: SurgeDetector, rules: Mapping[str, Rule]) -> None:
        self.stories = stories
        self.alerted = alerted
        self.surges = surges
        self.rules = rules  # the live rules, for their cooldowns

    def _cooling_down(self, match: Match, now: datetime) -> bool:
        rule = self.rules.get(match.rule)
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
