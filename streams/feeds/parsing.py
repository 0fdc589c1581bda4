"""Parsing fetched documents in worker processes, with a hard time limit per document.

feedparser and selectolax hold the GIL while they work, and some documents make them
work for a long time (feedparser #562: its author/e-mail regex is quadratic, 1.5 s on a
16 KB field). In a thread that would stall the event loop all the same, so documents are
parsed in a small process pool (pebble). A document that takes longer than
``polling.parse_timeout`` raises ``ParseTimeout``; pebble kills that worker process and
starts a new one, so the pool recovers and the other feeds go on.

``parse_document`` is what runs in the worker: encoding repair, then the feed or
HTML-list parser, then ``distinct_entries`` (one entry per id, at most ``ITEMS_MAX``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from dataclasses import dataclass

from pebble import ProcessPool

from streams.feeds.encoding import repair_encoding
from streams.feeds.entries import ITEMS_MAX, Entry, distinct_entries
from streams.feeds.htmllist import HtmlSelectors, parse_html_list
from streams.feeds.parser import parse_feed


class ParseTimeout(Exception):
    """Parsing one document took longer than the limit; its worker process was replaced."""


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    entries: list[Entry]  # distinct ids, document order, at most ITEMS_MAX
    found: int  # entries in the document, before de-duplication and the cap
    repaired_from: str | None  # the real encoding of a body that claimed UTF-8, if repaired


def parse_document(
    body: bytes, *, base_url: str, feed: str, content_type: str | None,
    select: HtmlSelectors | None,
) -> ParsedDocument:
    """Entries of a fetched feed (``select`` None) or HTML list page."""
    body, repaired_from = repair_encoding(body, content_type)
    if select is not None:
        entries = parse_html_list(body, base_url=base_url, select=select, feed=feed)
    else:
        entries = parse_feed(body, base_url=base_url, feed=feed, content_type=content_type)
    return ParsedDocument(distinct_entries(entries, ITEMS_MAX), len(entries), repaired_from)


def _ready() -> None:
    """A no-op run once in a new pool, so that its processes exist when it is handed out."""


class ParsePool:
    """``workers`` processes that run ``parse_document``, started by ``start`` (or the
    first ``parse``).

    They are forked from a fork server that has imported this module once, so nothing of
    the worker's event loop or threads is inherited and a replacement starts in
    milliseconds. Starting the fork server means a new interpreter importing the parsers:
    about a second, five and more on a busy machine. That happens in a thread: on the
    event loop it stopped the worker's polls, heartbeats and /metrics meanwhile.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def _started(self) -> ProcessPool:
        """The running pool, started first if need be (blocking: call it in a thread)."""
        with self._lock:
            if self._pool is None or not self._pool.active:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                pool = ProcessPool(self._workers, context=context)
                pool.schedule(_ready).result()  # pebble starts processes at the first task
                self._pool = pool
            return self._pool

    async def start(self) -> ProcessPool:
        """The running pool; started off the event loop when it is not running yet."""
        pool = self._pool
        if pool is not None and pool.active:
            return pool
        return await asyncio.to_thread(self._started)

    async def parse(
        self, body: bytes, *, timeout: float, base_url: str, feed: str,
        content_type: str | None, select: HtmlSelectors | None,
    ) -> ParsedDocument:
        future = (await self.start()).schedule(
            parse_document, args=(body,), timeout=timeout,
            kwargs={"base_url": base_url, "feed": feed, "content_type": content_type,
                    "select": select},
        )
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError as exc:  # cancelling the awaiting task cancels ``future`` too
            raise ParseTimeout(f"feed {feed!r}: parsing took over {timeout:g}s") from exc

    def close(self) -> None:
        """Stop the worker processes (waits for them)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join()
