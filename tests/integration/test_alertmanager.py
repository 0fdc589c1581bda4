"""Debian's Alertmanager receiving Wirewatch's news alerts: labels, annotations, endsAt
from the rule's cooldown, silences; and, through a worker and a real Prometheus, news
alerts and Prometheus rule alerts side by side."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from streams.embedded_broker import free_port

from .alert_sinks import ALERT, send, sink
from .alertmanager import REPO, api, running_alertmanager
from .conftest import RULES, add_stories, site_feeds, wait_until, wirewatch, write


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


def alerting_to(alertmanager: str) -> dict:
    """The shipped ``alerting:`` section of Prometheus, pointed at ``alertmanager``."""
    shipped = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    for am in shipped["alerting"]["alertmanagers"]:
        for static in am["static_configs"]:
            static["targets"] = [alertmanager.removeprefix("http://")]
    return shipped["alerting"]


@pytest.mark.kafka
async def test_news_and_rule_alerts_meet_in_alertmanager(
    news_site, namespace, tmp_path, start_worker, alertmanager, prometheus
):
    now = datetime.now(UTC)
    api(alertmanager, "silences", {
        "matchers": [{"name": "rule", "value": "peacekeepers", "isRegex": False,
                      "isEqual": True}],
        "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "test", "comment": "covered elsewhere"})
    rules = [{**rule, "cooldown": "10m"} if rule["name"] == "karabakh-security" else rule
             for rule in RULES]
    config = write(tmp_path / "wirewatch.yaml", feeds=site_feeds(news_site), rules=rules,
                   sinks=[{"name": "am", "alertmanager": alertmanager, "min_severity": "high"}])
    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    add_stories(news_site, "Russia, Azerbaijan announce withdrawal of peacekeepers from Karabakh",
                "ICESCO Director-General invited to COP29",  # medium: filtered out
                "Azerbaijan continues clearing Karabakh of mines")
    worker = start_worker(config)
    prometheus(worker.port, free_port(), alerting=alerting_to(alertmanager))  # one is down

    def news() -> dict[str, dict]:
        return {a["labels"]["rule"]: a for a in api(
            alertmanager, "alerts", filter='alertname="WirewatchNewsAlert"')}

    await wait_until(lambda: len(news()) == 2, 120, "two news alerts in Alertmanager", worker)
    received = news()
    assert set(received) == {"peacekeepers", "karabakh-security"}
    mines = received["karabakh-security"]
    assert mines["annotations"]["title"] == "Azerbaijan continues clearing Karabakh of mines"
    assert mines["annotations"]["url"].startswith(news_site.base_url)
    assert "South Caucasus" in mines["labels"]["region"] and mines["labels"]["story_id"]
    assert (datetime.fromisoformat(mines["endsAt"]) - datetime.fromisoformat(mines["startsAt"])
            == timedelta(minutes=10))
    assert mines["status"]["state"] == "active"
    assert received["peacekeepers"]["status"]["state"] == "suppressed"

    def worker_down() -> list:
        return api(alertmanager, "alerts", filter='alertname="WirewatchWorkerDown"')

    # The rule's `for: 1m` has to pass before Prometheus sends it.
    await wait_until(lambda: bool(worker_down()), 150, "WirewatchWorkerDown from Prometheus")
    (down,) = worker_down()
    assert down["labels"]["severity"] == "critical" and down["status"]["state"] == "active"
