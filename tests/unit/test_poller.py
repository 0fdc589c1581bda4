"""Poller.poll against local sites: new headlines once, 304s, errors with back-off; FeedState."""

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streams.config import FeedConfig, PollingConfig
from streams.demo.site import NewsSite, Story
from streams.embedded_broker import free_port
from streams.feeds.entries import headline_id
from streams.feeds.poller import (
    SEEN_MAX,
    SEEN_RETENTION,
    FeedState,
    Poller,
    backoff_delay,
    remember,
)

DATA = Path(__file__).parent.parent / "data" / "feeds"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
POLLING = PollingConfig(timeout=5, jitter=0.1, max_backoff=600)


@dataclass
class Page:
    """What the fake site answers on every path (changed by the tests)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=self.headers,
                            content_type=self.content_type)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    news = NewsSite()
    await news.start()
    yield news
    await news.stop()


@pytest.fixture
async def page() -> AsyncIterator[tuple[Page, str]]:
    fake = Page()
    app = web.Application()
    app.router.add_get("/{tail:.*}", fake.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield fake, str(server.make_url("/feed"))


def rss_feed(site: NewsSite, **extra: object) -> FeedConfig:
    return FeedConfig(name="demo", url=f"{site.base_url}/rss", interval=60, **extra)


def story(n: int, minutes: int) -> Story:
    return Story(f"story-{n}", f"Story {n} & co", f"Sub {n}", T0 + timedelta(minutes=minutes))


async def test_first_poll_all_new_oldest_first_then_304_then_only_the_new(
    site: NewsSite,
) -> None:
    for n, minutes in ((1, 0), (2, 5), (3, 30)):  # published in order: newest first in the feed
        site.publish(story(n, minutes))
    feed = rss_feed(site)
    poller = Poller(POLLING)

    before = time.time()
    first = await poller.poll(feed, FeedState())
    assert (first.outcome, first.items, first.error_reason) == ("ok", 3, None)
    assert [h.title for h in first.new] == ["Story 1 & co", "Story 2 & co", "Story 3 & co"]
    h = first.new[0]
    assert h.id == headline_id("demo-story-1")  # the guid is the id key
    assert (h.feed, h.source, h.summary) == ("demo", "127.0.0.1", "Sub 1")
    assert h.url == f"{site.base_url}/news/story-1"  # utm_source dropped
    assert h.published == "2024-05-01T10:00:00Z"
    assert first.new[2].published == "2024-05-01T10:30:00Z"
    assert h.fetched_at.endswith("Z")
    fetched = datetime.fromisoformat(h.fetched_at.replace("Z", "+00:00")).timestamp()
    assert before <= fetched <= time.time()
    state = first.state
    assert state.etag and state.last_modified
    assert state.last_success == state.last_attempt and state.failures == 0
    assert set(state.seen) == {x.id for x in first.new}

    second = await poller.poll(feed, state)
    assert (second.outcome, second.new) == ("not_modified", [])
    assert site.not_modified["/rss"] == 1
    assert second.state.seen == state.seen and second.state.etag == state.etag

    site.publish(story(4, 60))
    third = await poller.poll(feed, second.state)
    assert third.outcome == "ok" and third.items == 4
    assert [x.title for x in third.new] == ["Story 4 & co"]
    assert set(third.state.seen) == set(state.seen) | {third.new[0].id}
    assert site.requests["/rss"] == 3


async def test_undated_entries_come_out_in_reverse_feed_order(page: tuple[Page, str]) -> None:
    fake, url = page
    fake.body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>newest</title><link>http://a.example/3</link></item>"
        b"<item><title>middle</title><link>http://a.example/2</link></item>"
        b"<item><title>oldest</title><link>http://a.example/1</link></item>"
        b"</channel></rss>"
    )
    out = await Poller(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert [h.title for h in out.new] == ["oldest", "middle", "newest"]
    assert [h.published for h in out.new] == [None, None, None]
    assert {h.source for h in out.new} == {"a.example"}


async def test_server_error_backs_off_and_recovers(
    page: tuple[Page, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = page
    feed = FeedConfig(name="f", url=url, interval=10)
    poller = Poller(POLLING)
    fake.status = 500
    state = FeedState(etag='"old"', seen={"x": 1.0})
    with caplog.at_level(logging.WARNING, logger="streams.feeds.poller"):
        out = await poller.poll(feed, state)
    (record,) = caplog.records
    assert record.getMessage().startswith(
        'feed_poll_failed feed=f reason=http_5xx error="HTTP 500 Internal Server Error" failures=1 '
        "retry_in=")
    assert (out.outcome, out.error_reason, out.new) == ("error", "http_5xx", [])
    failed = out.state
    assert failed.failures == 1
    assert failed.last_error is not None and failed.last_error.startswith("http_5xx: HTTP 500")
    assert failed.etag == '"old"' and failed.seen == {"x": 1.0}  # kept for the next try
    delay = failed.retry_at - failed.last_attempt
    assert 20 <= delay <= 20 * (1 + POLLING.jitter)  # interval * 2**failures, plus jitter
    assert failed.retry_at > time.time()
    assert not failed.is_due(feed, failed.retry_at - 0.01, POLLING.jitter)
    assert failed.is_due(feed, failed.retry_at, POLLING.jitter)

    again = await poller.poll(feed, failed)
    assert again.state.failures == 2
    assert again.state.retry_at - again.state.last_attempt >= 40

    fake.status, fake.body = 200, (DATA / "rss2.xml").read_bytes()
    ok = await poller.poll(feed, again.state)
    assert ok.outcome == "ok" and len(ok.new) == 3
    assert (ok.state.failures, ok.state.retry_at, ok.state.last_error) == (0, 0.0, None)


async def test_retry_after_longer_than_backoff_is_honoured(page: tuple[Page, str]) -> None:
    fake, url = page
    fake.status, fake.headers = 429, {"Retry-After": "120"}
    out = await Poller(POLLING).poll(FeedConfig(name="f", url=url, interval=5), FeedState())
    assert out.error_reason == "http_429"
    assert out.state.retry_at - out.state.last_attempt == pytest.approx(120)


async def test_a_page_that_is_not_a_feed_is_a_parse_error(page: tuple[Page, str]) -> None:
    fake, url = page
    fake.body, fake.content_type = (DATA / "not-a-feed.html").read_bytes(), "text/html"
    out = await Poller(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert (out.outcome, out.error_reason) == ("error", "parse")
    assert out.error is not None and "feed 'f'" in out.error and "HTML page" in out.error
    assert out.state.failures == 1


async def test_html_selector_matching_nothing(page: tuple[Page, str]) -> None:
    fake, url = page
    fake.body, fake.content_type = (DATA / "not-a-feed.html").read_bytes(), "text/html"
    feed = FeedConfig(name="h", url=url, kind="html",
                      select={"item": ".latest-news li", "title": ".title"})
    out = await Poller(POLLING).poll(feed, FeedState())
    assert (out.outcome, out.error_reason) == ("error", "selector_empty")
    assert out.error is not None and ".latest-news li" in out.error


async def test_connection_refused_is_an_error_outcome() -> None:
    feed = FeedConfig(name="gone", url=f"http://127.0.0.1:{free_port()}/rss")
    out = await Poller(POLLING).poll(feed, FeedState())
    assert (out.outcome, out.error_reason) == ("error", "connection")


def test_is_due_waits_for_interval_with_tolerance() -> None:
    feed = FeedConfig(name="f", url="https://a.example/", interval=100)
    state = FeedState(last_attempt=1000.0)
    tolerance = 100 * (1 - 0.1) * 0.9
    assert not state.is_due(feed, 1000.0 + tolerance - 0.5, 0.1)
    assert state.is_due(feed, 1000.0 + tolerance, 0.1)
    assert FeedState().is_due(feed, time.time(), 0.1)


def test_backoff_grows_to_the_cap_and_respects_retry_after() -> None:
    feed = FeedConfig(name="f", url="https://a.example/", interval=10)
    delays = [backoff_delay(feed, POLLING, n, None) for n in range(1, 8)]
    for n, delay in enumerate(delays, 1):
        base = min(POLLING.max_backoff, 10 * 2**n)
        assert base <= delay <= base * (1 + POLLING.jitter)
    assert delays[-1] <= POLLING.max_backoff * (1 + POLLING.jitter)
    assert backoff_delay(feed, POLLING, 1, 5000.0) == 5000.0
    assert 20 <= backoff_delay(feed, POLLING, 1, 3.0) <= 22  # a short Retry-After changes nothing


DAY = 86_400.0


def test_remember_adds_current_and_keeps_recently_gone() -> None:
    now = 100 * DAY
    seen = {"gone-recently": now - DAY, "gone-long-ago": now - SEEN_RETENTION - 1}
    kept = remember(seen, ["a", "b"], now)
    assert kept == {"gone-recently": now - DAY, "a": now, "b": now}


def test_remember_counts_retention_from_when_an_id_left_the_feed() -> None:
    """An id listed for longer than the retention is still remembered just after it leaves."""
    start = 0.0
    seen = remember({}, ["pinned"], start)
    seen = remember(seen, ["pinned"], start + SEEN_RETENTION + DAY)  # still in the feed
    left = start + SEEN_RETENTION + 2 * DAY
    seen = remember(seen, ["other"], left)  # gone since the last poll
    assert "pinned" in seen
    assert "pinned" not in remember(seen, ["other"], left + SEEN_RETENTION + DAY)


def test_remember_cap_drops_oldest_gone_first() -> None:
    now = 100 * DAY
    current = [f"cur-{i}" for i in range(SEEN_MAX - 2)]
    gone = {f"gone-{i}": now - (i + 1) * 60 for i in range(5)}  # gone-4 is the oldest
    kept = remember(gone, current, now)
    assert len(kept) == SEEN_MAX
    assert set(current) <= set(kept)
    assert {k for k in kept if k.startswith("gone-")} == {"gone-0", "gone-1"}


def test_feed_state_json_round_trip() -> None:
    state = FeedState(etag='"e"', last_modified="Wed, 01 May 2024 12:00:00 GMT",
                      last_attempt=12.5, last_success=12.5, failures=2, retry_at=99.0,
                      last_error="timeout: slow", seen={"a": 1.0, "b": 2.5})
    assert FeedState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert FeedState.from_json(None) == FeedState() == FeedState.from_json({})
