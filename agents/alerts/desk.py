"""Alert decisions: one alert per (rule, story), bounded updates, cooldowns, surges.

Pure logic over mappings. An update record for a (rule, story) goes out when the story's
source count passes a milestone (2, 3, 5, 10, 20, 50, 100, 200, 500, ...), and at most once
per ``update_interval`` (the update at 2 sources is never held). A milestone passed within
the interval is held as a *pending* update; ``due_updates`` releases it, with the story's
latest count, once the interval has passed. So a story carried by 10,000 feeds in a minute
makes one alert and a handful of updates, and the last update always has the final count.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from agents.alerts.records import build_alert, build_surge_alert
from agents.alerts.rules import Rule
from agents.alerts.stories import StoryAssignment, StoryIndex
from agents.alerts.surge import SurgeDetector
from streams.records import Match

STORY_WINDOW = timedelta(hours=48)
UPDATE_INTERVAL = timedelta(seconds=60)
REGION_SURGE_SEVERITY = "medium"


MATCH = TypeAdapter(Match)  # a pair's first match is stored in its JSON form, decoded by it


def next_milestone(count: int) -> int:
    """The smallest milestone (2, 3, 5, 10, 20, 50, 100, ...) above ``count``."""
    if count < 2:
        return 2
    if count < 3:
        return 3
    scale = 1
    while True:
        for step in (5, 10, 20):
            if step * scale > count:
                return step * scale
        scale *= 10


class AlertDesk:
    """Stage 2's decisions over mappings (``desk_state.Store`` in the worker).

    ``alerted`` holds ``pair:<rule>:<story>`` -> {state, at, count, updated_at, pending}
    (state ``alerted``, or ``suppressed`` by a cooldown; ``count`` the last source count
    published; ``pending`` the held update's latest headline and count, or null; ``match``
    the first alert's match), ``last:<rule>`` -> time of the rule's last alert, and
    ``meta:pruned``.
    """

    def __init__(self, stories: StoryIndex, alerted: MutableMapping[str, Any],
                 surges: SurgeDetector, rules: Mapping[str, Rule],
                 update_interval: timedelta = UPDATE_INTERVAL) -> None:
        self.stories = stories
        self.alerted = alerted
        self.surges = surges
        self.rules = rules  # the live rules, for their cooldowns
        self.update_interval = update_interval.total_seconds()
        # pair key -> when its held update is due; rebuilt from ``alerted`` on first use
        self._pending: dict[str, float] | None = None

    def _pending_pairs(self) -> dict[str, float]:
        if self._pending is None:
            self._pending = {
                key: pair["updated_at"] + self.update_interval
                for key, pair in self.alerted.items()
                if key.startswith("pair:") and pair.get("pending")
            }
        return self._pending

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
                return self._update(pair, seen, match, headline, story, now)
            return None
        ts = now.timestamp()
        if self._cooling_down(match, now):  # later copies of this story stay quiet too
            self.alerted[pair] = {"state": "suppressed", "at": ts}
            return None
        alert = build_alert(match, headline, story, detected_at=now)
        self.alerted[pair] = {
            "state": "alerted", "at": ts, "count": story.sources_count, "updated_at": None,
            "pending": None, "match": MATCH.dump_python(match, mode="json"),
        }  # fmt: skip
        rule = self.rules.get(match.rule)
        if rule is not None and rule.cooldown_delta:  # only cooldowns read it: no write else
            self.alerted[f"last:{match.rule}"] = ts
        return alert

    def _update(self, pair: str, seen: dict[str, Any], match: Match,
                headline: Mapping[str, Any], story: StoryAssignment,
                now: datetime) -> dict | None:
        """The update record for a new source of an alerted story, if one is due now.

        Cheap when none is: the record is built only when it goes out."""
        published = seen.get("count", 1)
        if story.sources_count < next_milestone(published) and not seen.get("pending"):
            return None
        ts = now.timestamp()
        last = seen.get("updated_at")
        if last is not None and ts - last < self.update_interval:
            held = {"headline": headline, "count": story.sources_count}
            self.alerted[pair] = {**seen, "pending": held}  # the latest count waits
            self._pending_pairs()[pair] = last + self.update_interval
            return None
        self.alerted[pair] = {**seen, "count": story.sources_count, "updated_at": ts,
                              "pending": None}
        self._pending_pairs().pop(pair, None)
        return build_alert(match, headline, story, detected_at=now, update=True)

    def due_updates(self, now: datetime) -> list[dict]:
        """Held updates whose interval has passed, each with its story's latest count.

        A held update shows the latest copy's headline with the terms of the first alert."""
        ts = now.timestamp()
        pending = self._pending_pairs()
        released = []
        for pair in [key for key, due in pending.items() if due <= ts]:
            del pending[pair]
            seen = self.alerted.get(pair)
            if not seen or not seen.get("pending"):
                continue
            held = seen["pending"]
            story_id = pair.split(":", 2)[2]
            story = StoryAssignment(story_id, False, held["count"], True, None, now)
            released.append(build_alert(MATCH.validate_python(seen["match"]), held["headline"],
                                        story, detected_at=now, update=True))
            self.alerted[pair] = {**seen, "count": held["count"], "updated_at": ts,
                                  "pending": None}
        return released

    def _prune(self, now: datetime) -> None:
        """Hourly: forget (rule, story) pairs of stories older than the story window."""
        ts = now.timestamp()
        if ts - self.alerted.get("meta:pruned", 0.0) < 3600:
            return
        expired = [k for k, v in self.alerted.items()
                   if k.startswith("pair:") and v["at"] < ts - STORY_WINDOW.total_seconds()]
        for key in expired:
            del self.alerted[key]
            self._pending_pairs().pop(key, None)
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
