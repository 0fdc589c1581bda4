"""Hostile feeds and rules against one real worker on real Kafka: each is bounded, named in
the metrics, and none stops the worker or the other feeds.

One worker polls, at once: a 1 MB title, an id listed twice, more items than a poll takes,
feedparser's quadratic author field (a parse time bomb), a JSON Feed nested 100k deep, an
endless ``Retry-After``, cp1251 text declared as UTF-8, a feed on a blocked address and a
redirect to the cloud metadata address; and it matches headlines against rules that
backtrack for hours under Python's ``re``. The good feed's headlines and alerts still flow.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from streams.feeds.entries import ITEMS_MAX, TITLE_MAX_CHARS

from .conftest import RULES, TopicReader, Worker, serving, wait_until, wirewatch, write

pytestmark = pytest.mark.kafka

MAX_BACKOFF = 30
CATASTROPHIC_RULES = [{"name": "nested", "regex": "(a+)+$"},
                      {"name": "words", "regex": r"^(\w+\s?)*$"}]
BACKTRACKING_TITLES = ["a" * 70 + "!",
                       "Officials say the talks in the capital will resume next week!"]
CP1251_TITLES = ["Президент подписал указ о поддержке.", "Курс рубля снова вырос."]


def rss(items: list[tuple[str, str]], extra: str = "") -> bytes:
    """An RSS document of (guid, title) items; ``extra`` goes into every item."""
    body = "".join(f"<item><guid>{guid}</guid><title>{title}</title>"
                   f"<link>http://news.test/{n}</link>{extra}</item>"
                   for n, (guid, title) in enumerate(items))
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


@dataclass
class HostileSite:
    """Serves each path's fixed answer on 127.0.0.1 and 127.0.0.2; ``good`` can grow."""

    good: list[tuple[str, str]] = field(default_factory=list)
    hosts: Counter = field(default_factory=Counter)  # Host header -> requests
    base: str = ""

    def answers(self) -> dict[str, web.Response]:
        return {
            "/huge": web.Response(body=rss([("big", "word " * 200_000),
                                            ("after", "The item after the huge one.")]),
                                  content_type="application/rss+xml"),
            "/dups": web.Response(body=rss([("same", "First copy."), ("same", "Second copy.")]),
                                  content_type="application/rss+xml"),
            "/many": web.Response(body=rss([(f"m{i}", f"Item {i}: filler.")
                                            for i in range(ITEMS_MAX + 200)]),
                                  content_type="application/rss+xml"),
            "/slow": web.Response(body=rss([("slow", "Slow.")],  # feedparser #562
                                           extra="<author>" + "a" * 64_000 + "</author>"),
                                  content_type="application/rss+xml"),
            "/deep": web.Response(body=b'{"version": "https://jsonfeed.org/version/1.1", '
                                       b'"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                  content_type="application/feed+json"),
            "/busy": web.Response(status=503, headers={"Retry-After": "9" * 400}),
            "/cp1251": web.Response(
                body=("<?xml version='1.0' encoding='utf-8'?>" + rss(
                    [(f"c{i}", t) for i, t in enumerate(CP1251_TITLES)]).decode()
                ).encode("cp1251"),
                headers={"Content-Type": "application/rss+xml; charset=utf-8"}),
            "/to-metadata": web.Response(status=302, headers={
                "Location": "http://169.254.169.254/latest/meta-data/"}),
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hosts[request.host] += 1
        if request.path == "/good":
            return web.Response(body=rss(self.good), content_type="application/rss+xml")
        return self.answers().get(request.path) or web.Response(status=404)


@pytest.fixture
async def hostile_site() -> AsyncIterator[HostileSite]:
    site = HostileSite()
    app = web.Application()
    app.router.add_get("/{tail:.*}", site.handle)
    async with serving(app, "127.0.0.1", "127.0.0.2") as base:  # Linux routes 127/8 to lo
        site.base = base
        yield site


def poll_errors(metrics: dict, feed: str, reason: str) -> float:
    labels = (("feed", feed), ("reason", reason))
    return metrics.get(("wirewatch_feed_poll_errors_total", labels), 0)


async def test_hostile_feeds_and_rules_are_bounded_and_the_rest_flows(
    hostile_site: HostileSite, namespace, tmp_path, start_worker
):
    site = hostile_site
    site.good = [(f"b{i}", title) for i, title in enumerate(BACKTRACKING_TITLES)]
    names = ["good", "huge", "dups", "many", "slow", "deep", "busy", "cp1251", "to-metadata"]
    feeds = [{"name": n, "url": f"{site.base}/{n}", "interval": 1} for n in names]
    internal = site.base.replace("127.0.0.1", "127.0.0.2")
    feeds.append({"name": "internal", "url": f"{internal}/good", "interval": 1})
    polling = {"parse_timeout": 4, "max_backoff": MAX_BACKOFF,
               "block_private_addresses": True, "allow_networks": ["127.0.0.1/32"]}
    config = write(tmp_path / "wirewatch.yaml", feeds=feeds, polling=polling,
                   rules=[*RULES, *CATASTROPHIC_RULES])
    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    worker: Worker = start_worker(config)

    def failed(feed: str, reason: str) -> bool:
        return poll_errors(worker.metrics(), feed, reason) >= 1

    async with TopicReader(f"{namespace}.headlines") as headlines, \
            TopicReader(f"{namespace}.alerts") as alerts:
        expected = 2 + 2 + 1 + ITEMS_MAX + len(CP1251_TITLES)  # good huge dups many cp1251
        await headlines.wait_for(lambda m: len(m) >= expected, 180, "every feed's headlines",
                                 worker)
        for feed, reason in [("slow", "parse_timeout"), ("deep", "parse"), ("busy", "http_5xx"),
                             ("internal", "blocked"), ("to-metadata", "blocked")]:
            await wait_until(lambda f=feed, r=reason: failed(f, r), 60, f"{feed}: {reason}",
                             worker)
        # The good feed goes on past the backtracking titles: a new story raises its alert.
        site.good.append(("p1", "Peacekeepers leave the border town, officials say."))
        await alerts.wait_for(lambda m: any(v["rule"] == "peacekeepers" for _, v in m), 120,
                              "the peacekeepers alert", worker)
        await asyncio.sleep(3)  # more polls of every feed: nothing is published twice
        published = await headlines.drain(2)
        fired = {v["rule"] for _, v in await alerts.drain(1)}

    assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    per_feed = Counter(v["feed"] for _, v in published)
    assert per_feed == {"good": 3, "huge": 2, "dups": 1, "many": ITEMS_MAX, "cp1251": 2}
    assert len({(v["feed"], v["id"]) for _, v in published}) == len(published)
    titles = {feed: [v["title"] for _, v in published if v["feed"] == feed]
              for feed in ("huge", "dups", "cp1251")}
    assert max(map(len, titles["huge"])) <= TITLE_MAX_CHARS
    assert titles["dups"] == ["First copy."]
    assert sorted(titles["cp1251"]) == sorted(CP1251_TITLES)
    assert fired == {"peacekeepers"}  # RE2 ran the catastrophic rules, matching nothing here
    assert site.hosts.keys() == {site.base.removeprefix("http://")}  # nothing reached .2

    metrics = await asyncio.to_thread(worker.metrics)
    assert metrics[("wirewatch_feed_encoding_repairs_total", (("feed", "cp1251"),))] >= 1
    async with TopicReader(f"{namespace}-feed-state-changelog") as changelog:
        await changelog.drain(3)
        records = changelog.messages
    assert all(len(json.dumps(value)) < 200_000 for _, value in records)
    busy = [value for key, value in records if key == '"busy"']
    assert busy and [v["retry_at"] - v["last_attempt"] for v in busy] == pytest.approx(
        [MAX_BACKOFF] * len(busy))
