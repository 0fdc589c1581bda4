"""Debian's Alertmanager receiving Wirewatch's news alerts: labels, annotations, endsAt
from the rule's cooldown, silences; and, through a worker and a real Prometheus, news
alerts and Prometheus rule alerts side by side."""

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import yaml

from agents.alerts.rules import Sink, load_sinks
from agents.alerts.sinks import deliver
from streams.embedded_broker import free_port, wait_for_port

from .alertmanager import REPO, api, running_alertmanager
from .conftest import add_stories, wait_until
from .test_agents import RULES, wirewatch, write
from .test_pipeline import site_feeds

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


@pytest.fixture
def prometheus_alerting_to(tmp_path: Path) -> Iterator[Callable[[str, list[str]], int]]:
    """Debian's Prometheus with the shipped rules and the shipped ``alerting:`` section,
    its Alertmanager target pointed at the test's; scraping ``targets`` as job wirewatch."""
    procs: list[subprocess.Popen] = []

    def start(alertmanager: str, targets: list[str]) -> int:
        shipped = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
        for am in shipped["alerting"]["alertmanagers"]:
            for static in am["static_configs"]:
                static["targets"] = [alertmanager.removeprefix("http://")]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(REPO / "deploy/prometheus/rules/*.yml")],
            "alerting": shipped["alerting"],
            "scrape_configs": [{"job_name": "wirewatch",
                                "static_configs": [{"targets": targets}]}],
        }
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            procs.append(subprocess.Popen(
                ["prometheus", f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port, 30, procs[-1])
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(30)


@pytest.mark.kafka
async def test_news_and_rule_alerts_meet_in_alertmanager(
    news_site, namespace, tmp_path, start_worker, alertmanager, prometheus_alerting_to
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
    prometheus_alerting_to(alertmanager, [f"127.0.0.1:{worker.port}",
                                          f"127.0.0.1:{free_port()}"])  # a worker that is down

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
