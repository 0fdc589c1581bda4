"""Tokens in URL paths never leave a worker on real Kafka: not in its log, not on
``wirewatch.alerts.dead``, not in the feed-state changelog, not at /metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from .conftest import (
    RULES,
    TopicReader,
    add_stories,
    serving,
    site_feeds,
    wait_until,
    wirewatch,
    write,
)

pytestmark = pytest.mark.kafka

FEED_TOKEN = "Kq3ZpR8vWx2YbN5tLm7cHj4d"  # a private feed id: looks random
HOOK_TOKEN = "not-random-looking-but-secret"  # a webhook token: masked by its place


@pytest.fixture
async def echoing_hook() -> AsyncIterator[tuple[str, list[str]]]:
    """A webhook receiver that fails every POST with a page naming the path, as Express's
    and many frameworks' error pages do."""
    seen: list[str] = []

    async def fail(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=500, text=f"Cannot POST {request.path}")

    app = web.Application()
    app.router.add_post("/{tail:.*}", fail)
    async with serving(app) as base:
        yield base, seen


async def test_path_tokens_are_masked_in_logs_dead_letters_state_and_metrics(
    news_site, namespace, tmp_path, start_worker, echoing_hook
):
    hook_base, posted = echoing_hook
    hook_path = f"/api/webhooks/123456789012345678/{HOOK_TOKEN}"
    private = {"name": "private", "url": f"{news_site.base_url}/private/{FEED_TOKEN}/rss",
               "interval": 1}  # answers 404
    sinks = [{"name": "discord", "url": hook_base + hook_path, "max_attempts": 2,
              "backoff": 0.1}]
    config = write(tmp_path / "wirewatch.yaml", feeds=[*site_feeds(news_site), private],
                   rules=RULES, sinks=sinks)
    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    add_stories(news_site, "Russia, Azerbaijan announce withdrawal of peacekeepers")
    worker = start_worker(config)

    async with TopicReader(f"{namespace}.alerts.dead") as dead:
        await dead.wait_for(lambda m: len(m) >= 1, 120, "a dead letter", worker)
        [(_, letter)] = await dead.drain(1)
    assert posted == [hook_path, hook_path]  # the receiver did echo the token, twice
    assert letter["sink"] == "discord" and letter["attempts"] == 2
    assert letter["error"] == "HTTP 500: Cannot POST /api/webhooks/***/***"
    assert HOOK_TOKEN not in json.dumps(letter)

    async with TopicReader(f"{namespace}-feed-state-changelog") as changelog:
        await changelog.wait_for(lambda m: any(k == '"private"' for k, _ in m), 60,
                                 "the private feed's state", worker)
        stored = json.dumps(changelog.messages)
    assert "http_4xx" in stored and FEED_TOKEN not in stored

    await wait_until(lambda: "feed_poll_failed feed=private" in worker.log_path.read_text(),
                     30, "the private feed's failure logged", worker)
    log = worker.log_path.read_text(errors="replace")
    assert "sink_delivery_failed sink=discord" in log
    assert f"url={news_site.base_url}/private/***/rss" in log
    metrics = await asyncio.to_thread(worker.metrics)
    assert metrics[("wirewatch_sink_deliveries_total",
                    (("outcome", "failed"), ("sink", "discord")))] == 1
    exported = " ".join(f"{name}{labels}" for name, labels in metrics)
    for token in (FEED_TOKEN, HOOK_TOKEN):
        assert token not in log and token not in exported
