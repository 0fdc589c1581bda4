"""Debian's Alertmanager receiving Wirewatch's news alerts: labels, annotations, endsAt
from the rule's cooldown, silences; and, through a worker and a real Prometheus, news
alerts and Prometheus rule alerts side by side."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from agents.alerts.rules import Sink, load_sinks
from agents.alerts.sinks import deliver

from .alertmanager import api, running_alertmanager

ALERT = {
    "alert_id": "a-1", "rule": "karabakh-security", "severity": "high", "kind": "match",
    "matched": [{"term": "Karabakh", "text": "Karabakh"}, {"term": "mine*", "text": "mines"}],
    "story_id": "story-1", "title": "Azerbaijan continues clearing Karabakh of mines",
    "url": "https://caliber.example/post/1", "source": "caliber.example",
    "feed": "caucasus/caliber", "published": "2024-05-01T16:02:00Z",
    "topics": ["conflict/war/peace"], "regions": ["Western Asia", "South Caucasus"],
    "countries": ["AZ"], "sources_count": 1, "update": False, "schema_version": 1,
}


def sink(**fields: object) -> Sink:
    (loaded,) = load_sinks([{"name": "s", **fields}], source="c.yaml")
    return loaded


async def send(to: Sink, alert: dict, **kwargs: object):
    async with aiohttp.ClientSession() as session:
        return await deliver(session, to, alert, **kwargs)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    with running_alertmanager(tmp_path) as base:
        yield base


def news_alerts(base: str, **filters: str) -> list[dict]:
    matchers = [f'{key}="{value}"' for key, value in filters.items()]
    return [a for a in api(base, "alerts", filter=["alertname=\"WirewatchNewsAlert\"",
                                                   *matchers])]


async def test_alertmanager_receives_labels_annotations_and_cooldown(alertmanager) -> None:
    detected = datetime.now(UTC).replace(microsecond=0)
    alert = {**ALERT, "detected_at": detected.isoformat()}
    to = sink(alertmanager=alertmanager, template="$severity news on ${regions}")
    result = await send(to, alert, cooldown=timedelta(minutes=30))
    assert (result.delivered, result.status) == (True, 200)
    (received,) = news_alerts(alertmanager)
    assert received["labels"] == {
        "alertname": "WirewatchNewsAlert", "rule": "karabakh-security", "severity": "high",
        "kind": "match", "feed": "caucasus/caliber", "story_id": "story-1",
        "region": "Western Asia, South Caucasus"}
    assert received["annotations"] == {
        "title": "Azerbaijan continues clearing Karabakh of mines",
        "url": "https://caliber.example/post/1",
        "summary": "high news on Western Asia, South Caucasus"}
    assert datetime.fromisoformat(received["startsAt"]) == detected
    assert datetime.fromisoformat(received["endsAt"]) == detected + timedelta(minutes=30)
    assert received["generatorURL"] == "https://caliber.example/post/1"
    assert received["status"]["state"] == "active"


async def test_a_silence_suppresses_a_rules_news_alerts(alertmanager) -> None:
    now = datetime.now(UTC)
    silence = api(alertmanager, "silences", {
        "matchers": [{"name": "rule", "value": "karabakh-security", "isRegex": False,
                      "isEqual": True}],
        "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "test", "comment": "known story"})
    to = sink(alertmanager=alertmanager)
    other = {**ALERT, "rule": "cop29", "story_id": "story-2", "alert_id": "a-2",
             "detected_at": now.isoformat()}
    for alert in ({**ALERT, "detected_at": now.isoformat()}, other):
        assert (await send(to, alert)).delivered
    states = {a["labels"]["rule"]: a["status"] for a in news_alerts(alertmanager)}
    assert states["karabakh-security"]["state"] == "suppressed"
    assert states["karabakh-security"]["silencedBy"] == [silence["silenceID"]]
    assert states["cop29"]["state"] == "active"
    shown = api(alertmanager, "alerts", silenced="false", filter='alertname="WirewatchNewsAlert"')
    assert [a["labels"]["rule"] for a in shown] == ["cop29"]


async def test_alertmanager_refusal_is_not_retried(alertmanager) -> None:
    bad = {**ALERT, "detected_at": "2024-05-01T16:02:00+00:00"}
    to = sink(alertmanager=alertmanager, template={"summary": "x"}, max_attempts=3)
    result = await send(to, bad, cooldown=timedelta(seconds=0) - timedelta(days=1))
    assert (result.delivered, result.attempts, result.status) == (False, 1, 400)
    assert result.error is not None and result.error.startswith("HTTP 400")
