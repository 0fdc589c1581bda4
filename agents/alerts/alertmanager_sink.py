"""Alertmanager sinks: a news alert as an Alertmanager alert (API v2).

Labels identify the alert, so Alertmanager's grouping, silences, inhibition and routes
work on them: ``alertname`` (``WirewatchNewsAlert``), ``rule``, ``severity``, ``kind``,
``feed``, ``story_id`` and ``region`` (the alert's regions, comma-separated, absent when
none: silence one with ``region=~".*South Caucasus.*"``). Annotations carry ``title`` and
``url``, plus what the sink's template adds. ``startsAt`` is when the alert was detected;
``endsAt`` that plus the rule's cooldown (``DEFAULT_DURATION`` without one), so the alert
resolves itself when the rule may fire again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.alerts.records import parse_time

ALERTNAME = "WirewatchNewsAlert"
DEFAULT_DURATION = timedelta(hours=1)
API_PATH = "/api/v2/alerts"


def alerts_url(base: str) -> str:
    return base.rstrip("/") + API_PATH


def _detected(alert: Mapping[str, Any]) -> datetime:
    return parse_time(alert.get("detected_at")) or datetime.now(UTC)


def alertmanager_alert(alert: Mapping[str, Any], *, cooldown: timedelta | None,
                       annotations: Mapping[str, str]) -> dict[str, Any]:
    """The API v2 alert object for ``alert``."""
    starts = _detected(alert)
    labels = {
        "alertname": ALERTNAME, "rule": alert.get("rule"), "severity": alert.get("severity"),
        "kind": alert.get("kind"), "feed": alert.get("feed"), "story_id": alert.get("story_id"),
        "region": ", ".join(map(str, alert.get("regions") or ())),
    }
    body: dict[str, Any] = {
        "labels": {key: str(value) for key, value in labels.items() if value},
        "annotations": {"title": str(alert.get("title") or ""),
                        "url": str(alert.get("url") or ""), **annotations},
        "startsAt": starts.isoformat(),
        "endsAt": (starts + (cooldown or DEFAULT_DURATION)).isoformat(),
    }
    if str(alert.get("url") or "").startswith(("http://", "https://")):
        body["generatorURL"] = alert["url"]
    return body
