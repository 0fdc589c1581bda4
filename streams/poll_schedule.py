"""When each feed is ticked, and which feeds this worker is polling: ``PollSchedule``.

The leader keeps the schedule in memory: a new leader rebuilds it, spreading its first round
so thousands of feeds do not poll at once. Every worker keeps its polls in flight (a feed is
never polled twice at once) and the time of its last poll whose state needed no write.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from streams.config import FeedConfig

FIRST_ROUND_TICKS_PER_SECOND = 100  # a new leader's first ticks, spread out


class PollSchedule:
    def __init__(self) -> None:
        self._next_tick: dict[str, float] = {}  # leader-local; rebuilt by a new leader
        self._in_flight: set[str] = set()
        self._polled_at: dict[str, float] = {}

    def due(self, feeds: Iterable[FeedConfig], now: float) -> list[FeedConfig]:
        """The feeds to tick now. A feed seen for the first time gets its first tick at a
        random moment within its interval (at most the first round's spread)."""
        feeds = list(feeds)
        spread = max(3.0, len(feeds) / FIRST_ROUND_TICKS_PER_SECOND)
        ready = []
        for feed in feeds:
            next_tick = self._next_tick.get(feed.name)
            if next_tick is None:
                self._next_tick[feed.name] = now + random.uniform(0, min(feed.interval, spread))
            elif now >= next_tick:
                ready.append(feed)
        return ready

    def ticked(self, feed: FeedConfig, now: float, jitter: float) -> None:
        """``feed``'s tick was sent at ``now``: the next one is an interval (± jitter) on."""
        self._next_tick[feed.name] = now + feed.interval * (1 + random.uniform(-jitter, jitter))

    def claim(self, feed_name: str) -> bool:
        """Start polling ``feed_name``; False when this worker is polling it already."""
        if feed_name in self._in_flight:
            return False
        self._in_flight.add(feed_name)
        return True

    def release(self, feed_name: str) -> None:
        self._in_flight.discard(feed_name)

    def polled(self, feed_name: str, at: float) -> None:
        self._polled_at[feed_name] = at

    def last_polled(self, feed_name: str) -> float:
        """This worker's last poll of ``feed_name`` (0 if none), which its stored state may
        not show yet."""
        return self._polled_at.get(feed_name, 0.0)
