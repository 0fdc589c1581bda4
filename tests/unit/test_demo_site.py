"""The demo news site and timeline: RSS and HTML list of the same stories, 304s, the demo config."""

import asyncio
import email.utils
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from streams.config import PollingConfig, load_config
from streams.demo import timeline
from streams.demo.site import BAKU, NewsSite, Story
from streams.demo.timeline import release, seed_stories, slugify, write_demo_config
from streams.feeds.parser import parse_feed
from streams.feeds.poller import Poller
from streams.feeds.state import FeedState

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    news = NewsSite("Demo <News>")
    await news.start()
    yield news
    await news.stop()


def publish_seed(site: NewsSite, count: int) -> list[Story]:
    """The first ``count`` seed stories, one per 7 minutes, oldest published first."""
    stories = [
        Story(slugify(title, n), title, subline, T0 + timedelta(minutes=7 * n))
        for n, (title, subline) in enumerate(seed_stories()[:count])
    ]
    for story in stories:
        site.publish(story)
    return stories


async def get(url: str, **headers: str) -> tuple[int, str, Mapping[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.text(), resp.headers


async def test_rss_and_latest_render_the_stories(site: NewsSite) -> None:
    stories = publish_seed(site, 5)
    status, rss, headers = await get(f"{site.base_url}/rss")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    entries = parse_feed(rss.encode(), base_url=f"{site.base_url}/rss", feed="demo")
    assert [e.title for e in entries] == [s.title for s in reversed(stories)]  # newest first
    assert [e.published for e in entries] == [s.published for s in reversed(stories)]
    assert entries[0].url == f"{site.base_url}/news/{stories[-1].slug}"
    assert "Demo &lt;News&gt;" in rss

    status, html, headers = await get(f"{site.base_url}/latest")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for story in stories:
        assert f'href="/news/{story.slug}"' in html
    first_time = stories[0].published.astimezone(BAKU)
    assert f"<time>{first_time:%d %B %Y - %H:%M}</time>" in html  # Baku local time


async def test_conditional_get_and_request_counting(site: NewsSite) -> None:
    publish_seed(site, 2)
    url = f"{site.base_url}/rss"
    _, _, headers = await get(url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert email.utils.parsedate_to_datetime(last_modified) == site.changed_at.replace(
        microsecond=0)

    assert (await get(url, **{"If-None-Match": etag}))[:2] == (304, "")
    assert (await get(url, **{"If-Modified-Since": last_modified}))[0] == 304
    # If-None-Match decides when both are sent
    assert (await get(url, **{"If-None-Match": '"other"',
                              "If-Modified-Since": last_modified}))[0] == 200
    assert site.requests["/rss"] == 4 and site.not_modified["/rss"] == 2

    site.publish(Story("new", "New story", None, T0 + timedelta(days=1)))
    status, body, headers = await get(url, **{"If-None-Match": etag})
    assert status == 200 and "New story" in body and headers["ETag"] != etag
    assert site.requests["/rss"] == 5 and site.not_modified["/rss"] == 2
    assert site.requests["/latest"] == 0


async def test_demo_config_html_feed_reads_the_same_stories_as_the_rss(
    site: NewsSite, tmp_path: Path
) -> None:
    stories = publish_seed(site, 12)
    config = load_config(write_demo_config(site.base_url, tmp_path / "wirewatch.yaml"))
    assert {f.kind for f in config.feeds} == {"feed", "html"}
    assert all(str(f.url).startswith(site.base_url) for f in config.feeds)
    poller = Poller(PollingConfig(timeout=5))
    rss, html = [await poller.poll(feed, FeedState()) for feed in config.feeds]
    await poller.close()
    assert rss.outcome == html.outcome == "ok"
    assert [h.title for h in html.new] == [h.title for h in rss.new] == [s.title for s in stories]
    assert [h.url for h in html.new] == [h.url for h in rss.new]
    assert [h.published for h in html.new] == [h.published for h in rss.new]
    assert [h.summary for h in html.new] == [s.subline or "" for s in stories]


async def test_release_publishes_a_few_then_one_per_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timeline, "INITIAL", 3)
    seeds = seed_stories()
    assert len(seeds) == 40
    site = NewsSite()  # release only publishes; no server needed
    task = asyncio.create_task(release(site, 0.5))
    await asyncio.sleep(0.01)
    assert [s.title for s in site.stories] == [t for t, _ in reversed(seeds[:3])]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(site.stories) < 40


async def test_release_runs_through_the_seed_list() -> None:
    site = NewsSite()
    await release(site, 0.0)
    seeds = seed_stories()
    assert [s.title for s in reversed(site.stories)] == [t for t, _ in seeds]
    assert len({s.slug for s in site.stories}) == len(seeds)


def test_slugify() -> None:
    assert slugify("Paris & Baku trade barbs, amid ‘escalating’ tensions", 7) == (
        "paris-baku-trade-barbs-amid-escalating-tensions-7")
    assert slugify("One two three four five six seven eight nine ten", 0).count("-") == 8
