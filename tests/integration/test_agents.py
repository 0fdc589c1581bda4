"""Classification and alerting agents on real Kafka: headlines in, exactly the expected out."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from streams.embedded_broker import free_port

from .conftest import (
    RULES,
    TopicReader,
    add_stories,
    cli_lines,
    site_feeds,
    wait_until,
    wirewatch,
    write,
)

pytestmark = pytest.mark.kafka

class Receiver:
    """A webhook endpoint answering 500 to the first ``failures`` POSTs, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.delivered: list[dict] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            return web.Response(status=500)
        self.delivered.append(await request.json())
        return web.Response(status=200)


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[str, Receiver, Receiver]]:
    flaky, broken = Receiver(failures=2), Receiver(failures=10**6)
    app = web.Application()
    app.router.add_post("/flaky", flaky.handle)
    app.router.add_post("/broken", broken.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", flaky, broken
    await runner.cleanup()


async def test_classified_and_alerts_end_to_end(news_site, namespace, tmp_path, start_worker,
                                                receivers):
    base, flaky, broken = receivers
    sinks = [{"name": "flaky", "url": f"{base}/flaky", "rules": ["peacekeepers"],
              "backoff": 0.1, "max_attempts": 4},
             {"name": "broken", "url": f"{base}/broken", "rules": ["cop29"],
              "backoff": 0.1, "max_attempts": 3}]
    config = write(tmp_path / "wirewatch.yaml", feeds=site_feeds(news_site), rules=RULES,
                   sinks=sinks)
    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    assert "added: peacekeepers" in applied.stdout

    add_stories(news_site,
                "Russia, Azerbaijan announce withdrawal of peacekeepers from Karabakh",
                "ICESCO Director-General invited to COP29",
                "COP290 is not a conference at all, says nobody",
                "Azerbaijan continues clearing Karabakh of mines",
                "Bitcoin price dips below $58,000 first time in two months")
    worker = start_worker(config)

    async with TopicReader(f"{namespace}.classified") as classified:
        await classified.wait_for(lambda m: len(m) >= 10, 120, "10 classified headlines", worker)
        by_title = {v["title"]: v for _, v in classified.messages if v["feed"] == "site-rss"}
        mines = by_title["Azerbaijan continues clearing Karabakh of mines"]
        assert [c["code"] for c in mines["countries"]] == ["AZ"]
        assert "South Caucasus" in mines["region_names"]
        assert mines["topics"][0]["label"] == "conflict/war/peace"
        assert mines["language"] == "en" and mines["classifier_version"]
        bitcoin = by_title["Bitcoin price dips below $58,000 first time in two months"]
        assert bitcoin["countries"] == []
        assert bitcoin["topics"][0]["label"] == "economy/business/finance"
        for key, value in classified.messages:
            assert key == value["id"] and value["url"].startswith(news_site.base_url)

    async with TopicReader(f"{namespace}.alerts") as alerts:
        # Each story is carried by both feeds: one alert, then one update with 2 sources.
        await alerts.wait_for(lambda m: len(m) >= 6, 90, "3 alerts and 3 updates", worker)
        await alerts.drain(3)
        kinds = Counter((v["rule"], v["update"]) for _, v in alerts.messages)
        assert kinds == {(rule, update): 1 for rule in ("peacekeepers", "cop29",
                                                         "karabakh-security")
                         for update in (False, True)}
        for key, value in alerts.messages:
            assert key == value["story_id"]
            assert value["sources_count"] == (2 if value["update"] else 1)
            assert value["schema_version"] == 1 and value["matched"]
        karabakh = next(v for _, v in alerts.messages if v["rule"] == "karabakh-security")
        assert karabakh["severity"] == "high" and "South Caucasus" in karabakh["regions"]
        assert {m["text"] for m in karabakh["matched"]} == {"Karabakh", "mines"}

        # `wirewatch alerts` filters by rule and severity.
        cop = [json.loads(line) for line in await asyncio.to_thread(
            cli_lines, namespace, "alerts", "--from-beginning", "--json", "--rule", "cop29",
            count=2)]
        assert [(a["rule"], a["update"]) for a in cop] == [("cop29", False), ("cop29", True)]
        high = await asyncio.to_thread(
            cli_lines, namespace, "alerts", "--from-beginning", "--min-severity", "high",
            count=4)
        assert len(high) == 4 and not any(" cop29 " in line for line in high)
        assert any("HIGH     peacekeepers" in line for line in high)

        # A rule applied while the worker runs takes effect without a restart.
        config2 = write(tmp_path / "more-rules.yaml", rules=[
            *RULES, {"name": "bitcoin", "any": ["bitcoin"], "severity": "low"}])
        applied = await asyncio.to_thread(wirewatch, namespace, "rules", "apply", str(config2))
        assert applied.returncode == 0, applied.stderr
        listed = await asyncio.to_thread(wirewatch, namespace, "rules", "list")
        assert "bitcoin:" in listed.stdout
        await wait_until(lambda: "rule_updated rule=bitcoin" in worker.log_path.read_text(),
                         60, "the worker to load the new rule", worker)
        add_stories(news_site, "Bitcoin rebounds above $60,000 as ETF inflows return")
        await alerts.wait_for(lambda m: any(v["rule"] == "bitcoin" for _, v in m), 90,
                              "the new rule's alert", worker)

    # Webhooks: the flaky one gets its alert once after two failures; the broken one's
    # alert lands on the dead-letter topic with the error.
    await wait_until(lambda: len(flaky.delivered) >= 1, 60, "the webhook delivery", worker)
    assert flaky.attempts == 3
    assert [a["rule"] for a in flaky.delivered] == ["peacekeepers"]
    async with TopicReader(f"{namespace}.alerts.dead") as dead:
        await dead.wait_for(lambda m: len(m) >= 1, 60, "a dead letter", worker)
        [(_, letter)] = await dead.drain(2)
        assert letter["sink"] == "broken" and letter["attempts"] == 3
        assert letter["alert"]["rule"] == "cop29" and "500" in letter["error"]
    assert broken.attempts == 3

    metrics = await asyncio.to_thread(worker.metrics)
    assert metrics[("wirewatch_alerts_total",
                    (("kind", "match"), ("rule", "cop29"), ("severity", "medium")))] >= 1
    assert metrics[("wirewatch_sink_deliveries_total",
                    (("outcome", "delivered"), ("sink", "flaky")))] == 1
    assert metrics[("wirewatch_sink_deliveries_total",
                    (("outcome", "failed"), ("sink", "broken")))] == 1
