"""Building and filtering the alerts of ``wirewatch.alerts`` (key = story id).

Their type is ``streams.records.Alert``. ``alert_id`` is deterministic, so a replayed alert
keeps its id; ``update`` is true for a later copy of a story that already alerted. Surge
alerts carry ``surge`` with the window counts and have no story: ``story_id`` is
``surge:<key>``, ``title`` describes the surge and the other headline fields are null or
empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from streams.records import ALERT_FIELDS, SCHEMA_VERSION, SEVERITIES, Alert, Match, Surge

if TYPE_CHECKING:
    from agents.alerts.stories import StoryAssignment

__all__ = ["ALERT_FIELDS", "SEVERITIES", "alert_passes", "build_alert", "build_surge_alert"]
_NAMESPACE = uuid.UUID("6f0c1f0e-5a8c-4d59-9c3e-2b7f1c0a9e41")


def _alert_id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(map(str, parts))))


def parse_time(value: object) -> datetime | None:
    """An alert or headline time (ISO 8601) as an aware datetime, UTC when it names no
    offset; None when it is missing or not a time."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in info < low < medium < high < critical."""
    return SEVERITIES.index(severity)


def alert_passes(
    alert: Mapping[str, Any], *, rules: Collection[str] = (), min_severity: str = "info"
) -> bool:
    """Whether ``alert`` is for one of ``rules`` (any if empty) and at least ``min_severity``."""
    if rules and alert.get("rule") not in rules:
        return False
    return severity_rank(alert.get("severity", "medium")) >= severity_rank(min_severity)


def _record(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` checked against the ``Alert`` contract, as the JSON-ready dict on the wire."""
    return Alert.model_validate(fields, strict=False).model_dump(mode="json")


def build_alert(
    match: Match,
    headline: Mapping[str, Any],
    story: StoryAssignment,
    *,
    detected_at: datetime,
    update: bool = False,
) -> dict[str, Any]:
    """The alert (or, with ``update``, the update record) for ``match`` on ``headline``, a
    classified headline (its topics, countries and regions are lists of objects)."""
    alert_id = _alert_id("match", match.rule, story.story_id, story.sources_count if update else 0)
    return _record({
        "alert_id": alert_id,
        "rule": match.rule,
        "severity": match.severity,
        "kind": "match",
        "matched": match.matched,
        "story_id": story.story_id,
        "title": headline["title"],
        "url": headline["url"],
        "source": headline["source"],
        "feed": headline["feed"],
        "published": headline["published"],
        "detected_at": detected_at.isoformat(),
        "topics": [topic["label"] for topic in headline["topics"]],
        "regions": [region["name"] for region in headline["regions"]],
        "countries": [country["code"] for country in headline["countries"]],
        "sources_count": story.sources_count,
        "update": update,
        "schema_version": SCHEMA_VERSION,
    })


def build_surge_alert(
    surge: Surge, *, rule: str, severity: str, detected_at: datetime
) -> dict[str, Any]:
    """The ``kind: "surge"`` alert for ``surge``; ``rule`` names the rule or region surging."""
    return _record({
        "alert_id": _alert_id("surge", surge.key, surge.window_end),
        "rule": rule,
        "severity": severity,
        "kind": "surge",
        "matched": [],
        "story_id": f"surge:{surge.key}",
        "title": f"Surge: {rule}: {surge.window_count} mentions in the last window"
        f" (baseline mean {surge.baseline_mean:g})",
        "url": None,
        "source": None,
        "feed": None,
        "published": None,
        "detected_at": detected_at.isoformat(),
        "topics": [],
        "regions": [],
        "countries": [],
        "sources_count": 0,
        "update": False,
        "schema_version": SCHEMA_VERSION,
        "surge": surge.to_dict(),
    })
