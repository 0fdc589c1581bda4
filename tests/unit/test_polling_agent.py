"""The polling agent's glue, driven through Faust's ``poll_feeds.test_context()``: a tick polls
a real local site with the worker's ``Poller``; new headlines are published before the feed's
state is written to the ``feed-state`` table, so a failed publish leaves the state as it was
and the next poll sends the headlines again instead of losing them.

The headlines topic is replaced by a recorder (the Kafka path is covered by
``tests/integration/test_polling.py``); the table is Faust's own, in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.errors import KafkaTimeoutError

from streams import polling
from streams.config import WirewatchConfig
from streams.demo.site import NewsSite, Story
from streams.feeds.poller import Poller
from streams.feeds.state import FeedState, load_state, seen_key
from streams.poll_schedule import PollSchedule
from streams.records import Headline, PollTick

FEED = "demo"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@dataclass
class HeadlinesRecorder:
    """Stands in for ``wirewatch.headlines``: records each send with the feed's stored state
    at that moment, and fails the sends numbered in ``fail_on`` (1 = the first)."""

    fail_on: set[int] = field(default_factory=set)
    sent: list[Headline] = field(default_factory=list)
    state_at_send: list[FeedState] = field(default_factory=list)
    attempts: int = 0

    async def send(self, *, key: str, value: Headline) -> None:
        self.attempts += 1
        self.state_at_send.append(stored_state())
        if self.attempts in self.fail_on:
            raise KafkaTimeoutError("the broker did not acknowledge in time")
        assert key == value.id
        self.sent.append(value)


class WatchedSchedule(PollSchedule):
    """The real schedule, telling the test when the agent is done with a tick."""

    def __init__(self) -> None:
        super().__init__()
        self.released: asyncio.Queue[str] = asyncio.Queue()

    def release(self, feed_name: str) -> None:
        super().release(feed_name)
        self.released.put_nowait(feed_name)


def stored_state() -> FeedState:
    return load_state(polling.feed_states.get, FEED).state


@pytest.fixture
def empty_feed_states() -> Iterator[None]:
    polling.feed_states.data.clear()
    yield
    polling.feed_states.data.clear()


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    news = NewsSite()
    await news.start()
    for n in (1, 2):
        news.publish(Story(f"story-{n}", f"Story {n}", None, T0 + timedelta(minutes=n)))
    yield news
    await news.stop()


@pytest.fixture
def wired(site: NewsSite, empty_feed_states: None, monkeypatch: pytest.MonkeyPatch,
          close_after_test: Callable[[Poller], Poller],
          ) -> tuple[HeadlinesRecorder, WatchedSchedule]:
    """The agent's collaborators for one test: a config with the site's feed, the worker's
    poller, a fresh schedule and the headlines recorder."""
    config = WirewatchConfig.model_validate(
        {"feeds": [{"name": FEED, "url": f"{site.base_url}/rss", "interval": 600}]})
    poller = close_after_test(Poller(config.polling))
    recorder, schedule = HeadlinesRecorder(), WatchedSchedule()
    monkeypatch.setattr(polling, "current_config", lambda: config)
    monkeypatch.setattr(polling, "_shared_poller", lambda: poller)
    monkeypatch.setattr(polling, "schedule", schedule)
    monkeypatch.setattr(polling, "headlines_topic", recorder)
    return recorder, schedule


async def tick(agent: object, schedule: WatchedSchedule) -> None:
    """Send one tick for the feed and wait until the agent has finished with it."""
    await agent.put(PollTick(feed=FEED, sent_at=0.0), key=FEED)
    assert await asyncio.wait_for(schedule.released.get(), timeout=30) == FEED


async def test_new_headlines_are_published_before_the_feed_state_is_saved(
    wired: tuple[HeadlinesRecorder, WatchedSchedule], site: NewsSite,
) -> None:
    recorder, schedule = wired
    async with polling.poll_feeds.test_context() as agent:
        await tick(agent, schedule)
        assert [h.title for h in recorder.sent] == ["Story 1", "Story 2"]
        # While they were sent, the table still held the state from before the poll.
        assert recorder.state_at_send == [FeedState(), FeedState()]
        saved = stored_state()
        assert set(saved.seen) == {seen_key(h.id) for h in recorder.sent}
        assert saved.etag and saved.last_success

        await tick(agent, schedule)  # within the interval: not due, nothing fetched or sent
    assert site.requests["/rss"] == 1
    assert len(recorder.sent) == 2


async def test_a_failed_publish_keeps_the_state_and_the_next_poll_sends_again(
    wired: tuple[HeadlinesRecorder, WatchedSchedule], site: NewsSite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder, schedule = wired
    recorder.fail_on = {2}  # the first headline goes out, the second does not
    async with polling.poll_feeds.test_context() as agent:
        await tick(agent, schedule)
        assert [h.title for h in recorder.sent] == ["Story 1"]
        assert stored_state() == FeedState()  # nothing written: no seen ids, no validators
        assert polling.feed_states.data == {}
        assert "feed_poll_crashed feed=demo" in caplog.text

        await tick(agent, schedule)  # the next tick polls again and sends both
    assert site.requests["/rss"] == 2
    assert [h.title for h in recorder.sent] == ["Story 1", "Story 1", "Story 2"]
    assert set(stored_state().seen) == {seen_key(h.id) for h in recorder.sent}
