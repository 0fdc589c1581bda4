"""One poll of one feed: fetch, parse, find the new entries, update the feed's state.

Pure of Kafka: the state goes in and comes out as a ``FeedState`` that the
polling agent keeps in a Faust table (so it survives restarts and moves with
the feed's partition). Errors never escape: they become an ``error`` outcome
with a back-off, so a broken feed never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime

from streams.config import FeedConfig, PollingConfig
from streams.feeds.entries import Entry
from streams.feeds.errors import FeedParseError, SelectorMatchedNothing
from streams.feeds.fetcher import FETCH_ERROR_REASONS, Fetcher, FetchError, FetchResult
from streams.feeds.htmllist import parse_html_list
from streams.feeds.parser import parse_feed
from streams.feeds.urls import site_host
from streams.logs import log_event
from streams.records import Headline

log = logging.getLogger(__name__)

SEEN_RETENTION = 30 * 86_400.0  # keep ids that left the feed this long (seconds)
SEEN_MAX = 10_000  # per feed; the oldest ids that left the feed go first


@dataclass(frozen=True, slots=True)
class FeedState:
    """What must survive restarts about one feed (JSON-able)."""

    etag: str | None = None
    last_modified: str | None = None
    last_attempt: float = 0.0
    last_success: float | None = None
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None
    seen: dict[str, float] = field(default_factory=dict)  # headline id -> last seen in the feed

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> FeedState:
        """From a stored state; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def is_due(self, feed: FeedConfig, now: float, jitter: float) -> bool:
        """Whether a tick at ``now`` should poll: not backing off, interval elapsed.

        The leader spaces ticks by ``interval`` +- ``jitter``; the tolerance keeps
        a slightly early tick from being skipped (which would double the interval).
        """
        if now < self.retry_at:
            return False
        return now - self.last_attempt >= feed.interval * (1.0 - jitter) * 0.9


POLL_OUTCOMES = ("ok", "not_modified", "error")
# Every reason a poll can fail for (the metrics' ``reason`` label).
POLL_ERROR_REASONS = (*FETCH_ERROR_REASONS, "parse", "selector_empty")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    outcome: str  # one of POLL_OUTCOMES
    state: FeedState
    new: list[Headline]
    items: int = 0
    error_reason: str | None = None
    error: str | None = None


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z") if ts else None


def backoff_delay(feed: FeedConfig, polling: PollingConfig, failures: int,
                  retry_after: float | None) -> float:
    """Exponential back-off from the feed's interval, never shorter than Retry-After."""
    delay = feed.interval * (2 ** min(failures, 16)) * (1.0 + random.uniform(0, polling.jitter))
    return max(min(polling.max_backoff, delay), retry_after or 0.0)


def remember(seen: dict[str, float], current: list[str], now: float) -> dict[str, float]:
    """Seen ids after a successful parse: stamp the current ones ``now``, forget the long-gone.

    Stamps are when an id was last in the feed, so retention counts from when it left.
    """
    present = set(current)
    kept = {i: t for i, t in seen.items() if i not in present and now - t < SEEN_RETENTION}
    kept.update(dict.fromkeys(current, now))
    if len(kept) > SEEN_MAX:
        gone = sorted((t, i) for i, t in kept.items() if i not in present)
        for _, item_id in gone[: len(kept) - SEEN_MAX]:
            del kept[item_id]
    return kept


def to_headline(feed: FeedConfig, entry: Entry, fetched_at: datetime) -> Headline:
    return Headline(
        id=entry.id, feed=feed.name, source=site_host(entry.url or str(feed.url)),
        title=entry.title, url=entry.url, summary=entry.summary,
        published=_iso(entry.published), fetched_at=_iso(fetched_at) or "",
    )


def _oldest_first(entries: list[Entry]) -> list[Entry]:
    """Feeds list newest first; emit in publication order (feed order reversed as tie-break)."""
    indexed = list(enumerate(entries))
    indexed.sort(key=lambda p: (p[1].published.timestamp() if p[1].published else 0.0, -p[0]))
    return [e for _, e in indexed]


class Poller:
    """Polls feeds for one worker; shares one ``Fetcher`` (and its per-host limits)."""

    def __init__(self, polling: PollingConfig, fetcher: Fetcher | None = None) -> None:
        self.polling = polling
        self.fetcher = fetcher or Fetcher(polling)

    def _parse(self, feed: FeedConfig, result: FetchResult) -> list[Entry]:
        if feed.kind == "html":
            assert feed.select is not None  # guaranteed by FeedConfig validation
            return parse_html_list(result.body, base_url=result.url, select=feed.select,
                                   feed=feed.name)
        return parse_feed(result.body, base_url=result.url, feed=feed.name,
                          content_type=result.content_type)

    async def poll(self, feed: FeedConfig, state: FeedState) -> PollOutcome:
        now = time.time()
        state = replace(state, last_attempt=now)
        try:
            result = await self.fetcher.fetch(
                str(feed.url), etag=state.etag, last_modified=state.last_modified
            )
            if result.not_modified:
                ok = replace(state, last_success=now, failures=0, retry_at=0.0, last_error=None)
                return PollOutcome("not_modified", ok, [])
            loop = asyncio.get_running_loop()
            entries = await loop.run_in_executor(None, self._parse, feed, result)
        except FetchError as exc:
            return self._failed(feed, state, exc.reason, str(exc), exc.retry_after)
        except SelectorMatchedNothing as exc:
            return self._failed(feed, state, "selector_empty", str(exc), None)
        except FeedParseError as exc:
            return self._failed(feed, state, "parse", str(exc), None)
        fetched_at = datetime.fromtimestamp(now, UTC)
        new = [to_headline(feed, e, fetched_at) for e in _oldest_first(entries)
               if e.id not in state.seen]
        ok = replace(
            state, etag=result.etag, last_modified=result.last_modified, last_success=now,
            failures=0, retry_at=0.0, last_error=None,
            seen=remember(state.seen, [e.id for e in entries], now),
        )
        return PollOutcome("ok", ok, new, items=len(entries))

    def _failed(self, feed: FeedConfig, state: FeedState, reason: str, detail: str,
                retry_after: float | None) -> PollOutcome:
        failures = state.failures + 1
        delay = backoff_delay(feed, self.polling, failures, retry_after)
        log_event(log, logging.WARNING, "feed_poll_failed", feed=feed.name, reason=reason,
                  error=detail, failures=failures, retry_in=f"{delay:.0f}s")
        failed = replace(state, failures=failures, retry_at=state.last_attempt + delay,
                         last_error=f"{reason}: {detail}")
        return PollOutcome("error", failed, [], error_reason=reason, error=detail)
