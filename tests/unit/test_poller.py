"""Poller.poll against local sites: new headlines once, 304s, errors with back-off; FeedState."""

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from streams.config import FeedConfig, PollingConfig
from streams.contract_topic import encode_value
from streams.demo.site import NewsSite, Story
from streams.embedded_broker import free_port
from streams.feeds import parsing
from streams.feeds.entries import ITEMS_MAX, TITLE_MAX_CHARS, URL_MAX_CHARS, headline_id
from streams.feeds.parsing import ParsePool
from streams.feeds.poller import Poller, backoff_delay
from streams.feeds.state import FeedState, seen_key
from streams.feeds.text import SUMMARY_MAX_CHARS
from streams.records import Headline

DATA = Path(__file__).parent.parent / "data" / "feeds"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
POLLING = PollingConfig(timeout=5, jitter=0.1, max_backoff=600)
PollerFactory = Callable[..., Poller]


@dataclass
class Page:
    """What the fake site answers on every path (changed by the tests)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        typed = "Content-Type" in self.headers  # a header with a charset
        return web.Response(status=self.status, body=self.body, headers=self.headers,
                            content_type=None if typed else self.content_type)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    news = NewsSite()
    await news.start()
    yield news
    await news.stop()


@pytest.fixture
async def page(serve_app: Callable[[web.Application], Awaitable[str]]) -> tuple[Page, str]:
    fake = Page()
    app = web.Application()
    app.router.add_get("/{tail:.*}", fake.handle)
    return fake, f"{await serve_app(app)}/feed"


@pytest.fixture
def poller_for(close_after_test: Callable[[Poller], Poller]) -> PollerFactory:
    """Pollers made with ``Poller(polling, **parts)``, closed when the test ends."""

    def make(polling: PollingConfig, **parts: object) -> Poller:
        return close_after_test(Poller(polling, **parts))

    return make


def rss_feed(site: NewsSite, **extra: object) -> FeedConfig:
    return FeedConfig(name="demo", url=f"{site.base_url}/rss", interval=60, **extra)


def story(n: int, minutes: int) -> Story:
    return Story(f"story-{n}", f"Story {n} & co", f"Sub {n}", T0 + timedelta(minutes=minutes))


async def test_first_poll_all_new_oldest_first_then_304_then_only_the_new(
    site: NewsSite, poller_for: PollerFactory,
) -> None:
    for n, minutes in ((1, 0), (2, 5), (3, 30)):  # published in order: newest first in the feed
        site.publish(story(n, minutes))
    feed = rss_feed(site)
    poller = poller_for(POLLING)

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
    assert set(state.seen) == {seen_key(x.id) for x in first.new}

    second = await poller.poll(feed, state)
    assert (second.outcome, second.new) == ("not_modified", [])
    assert site.not_modified["/rss"] == 1
    assert second.state.seen == state.seen and second.state.etag == state.etag

    site.publish(story(4, 60))
    third = await poller.poll(feed, second.state)
    assert third.outcome == "ok" and third.items == 4
    assert [x.title for x in third.new] == ["Story 4 & co"]
    assert set(third.state.seen) == set(state.seen) | {seen_key(third.new[0].id)}
    assert site.requests["/rss"] == 3


async def test_undated_entries_come_out_in_reverse_feed_order(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>newest</title><link>http://a.example/3</link></item>"
        b"<item><title>middle</title><link>http://a.example/2</link></item>"
        b"<item><title>oldest</title><link>http://a.example/1</link></item>"
        b"</channel></rss>"
    )
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert [h.title for h in out.new] == ["oldest", "middle", "newest"]
    assert [h.published for h in out.new] == [None, None, None]
    assert {h.source for h in out.new} == {"a.example"}


async def test_server_error_backs_off_and_recovers(
    page: tuple[Page, str], caplog: pytest.LogCaptureFixture, poller_for: PollerFactory,
) -> None:
    fake, url = page
    feed = FeedConfig(name="f", url=url, interval=10)
    poller = poller_for(POLLING)
    fake.status = 500
    state = FeedState(etag='"old"', seen={"x": 1.0})
    with caplog.at_level(logging.WARNING, logger="streams.feeds.poller"):
        out = await poller.poll(feed, state)
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f'feed_poll_failed feed=f reason=http_5xx url={url} '
        'error="HTTP 500 Internal Server Error" failures=1 '
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


async def test_retry_after_longer_than_backoff_is_honoured(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.status, fake.headers = 429, {"Retry-After": "120"}
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url, interval=5), FeedState())
    assert out.error_reason == "http_429"
    assert out.state.retry_at - out.state.last_attempt == pytest.approx(120)


async def test_a_page_that_is_not_a_feed_is_a_parse_error(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.body, fake.content_type = (DATA / "not-a-feed.html").read_bytes(), "text/html"
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert (out.outcome, out.error_reason) == ("error", "parse")
    assert out.error is not None and "feed 'f'" in out.error and "HTML page" in out.error
    assert out.state.failures == 1


async def test_html_selector_matching_nothing(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.body, fake.content_type = (DATA / "not-a-feed.html").read_bytes(), "text/html"
    feed = FeedConfig(name="h", url=url, kind="html",
                      select={"item": ".latest-news li", "title": ".title"})
    out = await poller_for(POLLING).poll(feed, FeedState())
    assert (out.outcome, out.error_reason) == ("error", "selector_empty")
    assert out.error is not None and ".latest-news li" in out.error


async def test_connection_refused_is_an_error_outcome(poller_for: PollerFactory) -> None:
    feed = FeedConfig(name="gone", url=f"http://127.0.0.1:{free_port()}/rss")
    out = await poller_for(POLLING).poll(feed, FeedState())
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
    assert backoff_delay(feed, POLLING, 1, 500.0) == 500.0
    # A Retry-After beyond max_backoff, even one that parsed as infinity, is capped.
    assert backoff_delay(feed, POLLING, 1, 5000.0) == POLLING.max_backoff
    assert backoff_delay(feed, POLLING, 1, float("inf")) == POLLING.max_backoff
    assert 20 <= backoff_delay(feed, POLLING, 1, 3.0) <= 22  # a short Retry-After changes nothing


@pytest.mark.parametrize("retry_after", ["99999999999", "9" * 400])
async def test_huge_retry_after_is_capped_at_max_backoff(
    page: tuple[Page, str], retry_after: str, poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.status, fake.headers = 503, {"Retry-After": retry_after}
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert out.error_reason == "http_5xx"
    assert out.state.retry_at - out.state.last_attempt == POLLING.max_backoff


async def test_json_feed_nested_100k_deep_is_a_parse_error(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.content_type = "application/feed+json"
    fake.body = (b'{"version": "https://jsonfeed.org/version/1.1", "items": '
                 + b"[" * 100_000 + b"]" * 100_000 + b"}")
    out = await poller_for(POLLING).poll(FeedConfig(name="deep", url=url), FeedState())
    assert (out.outcome, out.error_reason) == ("error", "parse")
    assert out.error is not None and "nested too deeply" in out.error
    assert out.state.failures == 1 and out.state.retry_at > out.state.last_attempt


async def test_slow_parse_times_out_backs_off_and_the_stuck_process_is_replaced(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    """feedparser #562: its author regex is quadratic, 2.5 s at 16 KB and some 40 s at 64 KB
    here. With one parsing process, the good document after it is parsed within seconds
    only if the stuck process was killed and replaced."""
    fake, url = page
    fake.body = (b"<rss version='2.0'><channel><title>t</title><item><title>x</title>"
                 b"<author>" + b"a" * 64_000 + b"</author></item></channel></rss>")
    polling = PollingConfig(timeout=5, parse_timeout=0.5, max_backoff=600)
    feed = FeedConfig(name="slow", url=url)
    pool = ParsePool(1)
    poller = poller_for(polling, parse_pool=pool)
    try:
        started = time.monotonic()
        out = await poller.poll(feed, FeedState())
        assert (out.outcome, out.error_reason) == ("error", "parse_timeout")
        assert out.error == "feed 'slow': parsing took over 0.5s"
        assert out.state.retry_at > out.state.last_attempt
        fake.body = (DATA / "rss2.xml").read_bytes()
        again = await poller.poll(feed, out.state)
        assert again.outcome == "ok" and len(again.new) == 3
        assert time.monotonic() - started < 20
    finally:
        pool.close()


async def test_parsing_processes_start_off_the_event_loop(
    page: tuple[Page, str], monkeypatch: pytest.MonkeyPatch,
    close_after_test: Callable[[Poller], Poller],
) -> None:
    """Starting them means a new interpreter importing the parsers: seconds on a busy
    machine, during which an event loop starting them polled nothing and sent no heartbeat."""
    started_in: list[threading.Thread] = []

    class RecordingPool(parsing.ProcessPool):
        def __init__(self, *args: object, **kwargs: object) -> None:
            started_in.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(parsing, "ProcessPool", RecordingPool)
    fake, url = page
    fake.body = (DATA / "rss2.xml").read_bytes()
    pool = ParsePool(1)
    try:
        out = await close_after_test(Poller(POLLING, parse_pool=pool)).poll(
            FeedConfig(name="f", url=url), FeedState())
        assert out.outcome == "ok" and len(out.new) == 3
        assert await pool.start() is await pool.start()  # started once, then reused
    finally:
        pool.close()
    assert len(started_in) == 1 and started_in[0] is not threading.current_thread()


async def test_any_exception_of_a_poll_is_an_internal_error_outcome(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    class BrokenPool:
        async def parse(self, body: bytes, **_: object) -> None:
            raise RuntimeError("a bug in a library")

    fake, url = page
    fake.body = (DATA / "rss2.xml").read_bytes()
    poller = poller_for(POLLING, parse_pool=BrokenPool())
    out = await poller.poll(FeedConfig(name="f", url=url), FeedState())
    assert (out.outcome, out.error_reason) == ("error", "internal")
    assert out.state.last_error == "internal: RuntimeError: a bug in a library"


def rss_items(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS document of (guid, title, link) items."""
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>{u}</link></item>"
                   for g, t, u in items)
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


async def test_one_id_once_per_poll_and_items_capped(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.body = rss_items([("same", "First", "http://a.example/1"),
                           ("same", "Again", "http://a.example/1")])
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert [h.title for h in out.new] == ["First"] and out.items == 1

    fake.body = rss_items([(f"g{i}", f"T{i}", f"http://a.example/{i}")
                           for i in range(ITEMS_MAX + 500)])
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    assert len(out.new) == out.items == ITEMS_MAX
    assert {h.title for h in out.new} == {f"T{i}" for i in range(ITEMS_MAX)}  # the first ones


async def test_huge_title_summary_and_url_are_capped(
    page: tuple[Page, str], poller_for: PollerFactory,
) -> None:
    fake, url = page
    long_url = "http://a.example/" + "p" * URL_MAX_CHARS
    fake.body = (b"<rss version='2.0'><channel><title>t</title><item><guid>g</guid><title>"
                 + b"word " * 200_000 + b"</title><description>" + b"more " * 200_000
                 + b"</description><link>" + long_url.encode() + b"</link></item></channel></rss>")
    out = await poller_for(POLLING).poll(FeedConfig(name="f", url=url), FeedState())
    [headline] = out.new
    assert len(headline.title) <= TITLE_MAX_CHARS and headline.title.endswith("…")
    assert len(headline.summary) <= SUMMARY_MAX_CHARS
    assert headline.url == ""  # a link that long counts as none
    assert len(encode_value(Headline, headline)) < 4000  # far below Kafka's message limit


async def test_cp1251_declared_utf8_is_repaired_and_flagged(
    page: tuple[Page, str], caplog: pytest.LogCaptureFixture, poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
    titles = ["Президент подписал указ о поддержке", "Курс рубля снова вырос"]
    fake.body = ("<?xml version='1.0' encoding='utf-8'?>" + rss_items(
        [(f"g{i}", t, f"http://ru.example/{i}") for i, t in enumerate(titles)]
    ).decode()).encode("cp1251")
    with caplog.at_level(logging.WARNING, logger="streams.feeds.poller"):
        out = await poller_for(POLLING).poll(FeedConfig(name="ru", url=url), FeedState())
    assert sorted(h.title for h in out.new) == sorted(titles)
    assert out.repaired_from == "cp1251"
    assert "feed_encoding_repaired feed=ru declared=utf-8 detected=cp1251" in caplog.text


async def test_secrets_in_feed_urls_are_redacted_from_logs_and_state(
    page: tuple[Page, str], caplog: pytest.LogCaptureFixture, poller_for: PollerFactory,
) -> None:
    fake, url = page
    fake.status = 500
    port = free_port()
    feeds = [FeedConfig(name="keyed", url=f"{url}?api_key=SECRET1&page=2"),
             FeedConfig(name="down", url=f"http://user:SECRET2@127.0.0.1:{port}/x?token=SECRET3"),
             FeedConfig(name="loop", url=f"{url.rsplit('/', 1)[0]}/redirect?key=SECRET4")]
    fake.headers = {"Location": feeds[2].url.unicode_string()}
    with caplog.at_level(logging.DEBUG):
        outs = [await poller_for(POLLING).poll(f, FeedState()) for f in feeds[:2]]
        fake.status = 302
        outs.append(await poller_for(POLLING).poll(feeds[2], FeedState()))
    assert [o.error_reason for o in outs] == ["http_5xx", "connection", "connection"]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("streams"))
    assert "api_key=***&page=***" in ours and "SECRET" not in ours  # not the test server's
    for out in outs:
        assert "SECRET" not in f"{out.error} {out.state.last_error}"
