"""One poll of one feed: fetch, parse, find the new entries, update the feed's state.

Pure of Kafka: the state goes in and comes out as a ``FeedState`` that the
polling agent keeps in a Faust table (so it survives restarts and moves with
the feed's partition). Errors never escape: every exception, expected or a bug,
becomes an ``error`` outcome with a reason, a back-off and a redacted message, so a
broken feed never stops the others. Parsing runs in the process pool of ``parsing``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache

from streams.config import FeedConfig, PollingConfig
from streams.feeds.entries import Entry
from streams.feeds.errors import FeedParseError, SelectorMatchedNothing
from streams.feeds.fetcher import FETCH_ERROR_REASONS, Fetcher, FetchError
from streams.feeds.parsing import ParsedDocument, ParsePool, ParseTimeout
from streams.feeds.state import FeedState, remember, seen_key
from streams.feeds.urls import site_host
from streams.logs import log_event
from streams.records import Headline
from streams.redact import redact_text, redact_url, url_secrets

log = logging.getLogger(__name__)

POLL_OUTCOMES = ("ok", "not_modified", "error")
# Every reason a poll can fail for (the metrics' ``reason`` label).
POLL_ERROR_REASONS = (*FETCH_ERROR_REASONS, "parse", "parse_timeout", "selector_empty",
                      "internal")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    outcome: str  # one of POLL_OUTCOMES
    state: FeedState
    new: list[Headline]
    items: int = 0
    error_reason: str | None = None
    error: str | None = None
    repaired_from: str | None = None  # encoding of a body that claimed UTF-8 and was not


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z") if ts else None


def backoff_delay(feed: FeedConfig, polling: PollingConfig, failures: int,
                  retry_after: float | None) -> float:
    """Exponential back-off from the feed's interval, never shorter than Retry-After;
    both capped at ``max_backoff`` (a Retry-After of years, or ``inf``, must not stop
    the feed for good)."""
    delay = feed.interval * (2 ** min(failures, 16)) * (1.0 + random.uniform(0, polling.jitter))
    return min(polling.max_backoff, max(delay, retry_after or 0.0))


@cache
def shared_parse_pool(workers: int) -> ParsePool:
    """The process's parsing pool (worker processes start on first use)."""
    return ParsePool(workers)


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

    def __init__(self, polling: PollingConfig, fetcher: Fetcher | None = None,
                 parse_pool: ParsePool | None = None) -> None:
        self.polling = polling
        self.fetcher = fetcher or Fetcher(polling)
        self.parse_pool = parse_pool or shared_parse_pool(polling.parse_workers)

    async def close(self) -> None:
        """Close the HTTP session (the parse pool is shared by the process)."""
        await self.fetcher.close()

    async def poll(self, feed: FeedConfig, state: FeedState) -> PollOutcome:
        now = time.time()
        state = replace(state, last_attempt=now)
        try:
            result = await self.fetcher.fetch(
                str(feed.url), etag=state.etag, last_modified=state.last_modified
            )
            fetched_at = datetime.now(UTC)  # the fetch's end: where the headline's latency starts
            if result.not_modified:
                ok = replace(state, last_success=now, failures=0, retry_at=0.0, last_error=None)
                return PollOutcome("not_modified", ok, [])
            parsed = await self.parse_pool.parse(
                result.body, timeout=self.polling.parse_timeout, base_url=result.url,
                feed=feed.name, content_type=result.content_type, select=feed.select,
            )
        except FetchError as exc:
            return self._failed(feed, state, exc.reason, str(exc), exc.retry_after)
        except ParseTimeout as exc:
            return self._failed(feed, state, "parse_timeout", str(exc), None)
        except SelectorMatchedNothing as exc:
            return self._failed(feed, state, "selector_empty", str(exc), None)
        except FeedParseError as exc:
            return self._failed(feed, state, "parse", str(exc), None)
        except Exception as exc:  # a bug, or a document that breaks a library: still an outcome
            log_event(log, logging.DEBUG, "feed_poll_raised", feed=feed.name, exc_info=True)
            return self._failed(feed, state, "internal", f"{type(exc).__name__}: {exc}", None)
        self._log_document_notes(feed, parsed)
        entries = parsed.entries
        new = [to_headline(feed, e, fetched_at) for e in _oldest_first(entries)
               if seen_key(e.id) not in state.seen]
        ok = replace(
            state, etag=result.etag, last_modified=result.last_modified, last_success=now,
            failures=0, retry_at=0.0, last_error=None,
            seen=remember(state.seen, [seen_key(e.id) for e in entries], now),
        )
        return PollOutcome("ok", ok, new, items=len(entries), repaired_from=parsed.repaired_from)

    @staticmethod
    def _log_document_notes(feed: FeedConfig, parsed: ParsedDocument) -> None:
        if parsed.repaired_from:
            log_event(log, logging.WARNING, "feed_encoding_repaired", feed=feed.name,
                      declared="utf-8", detected=parsed.repaired_from)
        if parsed.found > len(parsed.entries):
            log_event(log, logging.INFO, "feed_entries_dropped", feed=feed.name,
                      found=parsed.found, kept=len(parsed.entries),
                      why="repeated ids, or over the per-poll cap")

    def _failed(self, feed: FeedConfig, state: FeedState, reason: str, detail: str,
                retry_after: float | None) -> PollOutcome:
        failures = state.failures + 1
        delay = backoff_delay(feed, self.polling, failures, retry_after)
        detail = redact_text(detail, url_secrets(str(feed.url)))
        log_event(log, logging.WARNING, "feed_poll_failed", feed=feed.name, reason=reason,
                  url=redact_url(str(feed.url)), error=detail, failures=failures,
                  retry_in=f"{delay:.0f}s")
        failed = replace(state, failures=failures, retry_at=state.last_attempt + delay,
                         last_error=f"{reason}: {detail}")
        return PollOutcome("error", failed, [], error_reason=reason, error=detail)
