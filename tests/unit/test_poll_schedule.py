"""PollSchedule: the leader's first round spread out, then a tick per interval; one poll at once."""

import random

from streams.config import FeedConfig
from streams.poll_schedule import PollSchedule


def feed(name: str, interval: float = 60.0) -> FeedConfig:
    return FeedConfig(name=name, url=f"https://{name}.example.com/rss", interval=interval)


def test_first_round_is_spread_then_each_feed_ticks_once_per_interval() -> None:
    random.seed(7)
    schedule = PollSchedule()
    feeds = [feed("a", 60), feed("b", 2)]
    assert schedule.due(feeds, now=1000.0) == []  # first sight: a first tick is scheduled
    # the first round is spread over at most 3 seconds (or the interval, if shorter)
    ready = schedule.due(feeds, now=1003.0)
    assert [f.name for f in ready] == ["a", "b"]
    for f in ready:
        schedule.ticked(f, 1100.0, jitter=0.0)
    assert schedule.due(feeds, now=1101.0) == []  # ticked: not due again before its interval
    assert [f.name for f in schedule.due(feeds, now=1102.0)] == ["b"]
    assert [f.name for f in schedule.due(feeds, now=1160.0)] == ["a", "b"]


def test_a_feed_is_claimed_once_until_released_and_its_last_poll_is_kept() -> None:
    schedule = PollSchedule()
    assert schedule.claim("a") and not schedule.claim("a") and schedule.claim("b")
    schedule.release("a")
    assert schedule.claim("a")
    assert schedule.last_polled("a") == 0.0
    schedule.polled("a", 123.5)
    assert schedule.last_polled("a") == 123.5 and schedule.last_polled("b") == 0.0
