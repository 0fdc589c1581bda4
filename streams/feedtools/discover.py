"""``wirewatch feeds discover URL``: the feeds a site offers, each checked by parsing it.

First the feeds the page declares with ``<link rel="alternate">`` (RSS, Atom, RDF, JSON
Feed), then the usual paths at the site's root (``/feed``, ``/rss``, ``/atom.xml``, ...)
that answer with a parseable feed. Every candidate is fetched with the worker's
``Fetcher`` (same timeout, size cap, per-host limit, User-Agent) and parsed with the
worker's parser, so what is listed is what the worker can poll; each comes with its
title and item count. A URL that is itself a feed is reported as such.
"""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass

import feedparser
from selectolax.lexbor import LexborHTMLParser

from streams.feeds.errors import FeedParseError
from streams.feeds.fetcher import Fetcher, FetchError, FetchResult
from streams.feeds.parser import parse_feed
from streams.feeds.urls import web_url

FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml",
    "application/feed+json", "application/json", "application/xml", "text/xml",
})  # fmt: skip
USUAL_PATHS = (
    "/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json",
    "/atom", "/feeds/posts/default", "/?feed=rss2",
)  # fmt: skip
MAX_DECLARED = 20  # a page declaring more is not listing its news feeds


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str
    title: str
    items: int
    how: str  # "the URL itself", "declared", "usual path"


@dataclass(frozen=True, slots=True)
class Discovery:
    found: list[FoundFeed]
    problems: list[str]  # declared feeds that did not work, with the reason


def feed_title(body: bytes, content_type: str | None) -> str:
    """The title a feed gives itself ("" if none); ``body`` is known to parse as a feed."""
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        title = json.loads(body.decode("utf-8-sig", errors="replace")).get("title")
        return title.strip() if isinstance(title, str) else ""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    return " ".join(str(parsed.feed.get("title", "")).split())


def declared_feeds(page: bytes, base_url: str) -> list[str]:
    """URLs of ``<link rel="alternate">`` feeds in ``page``, in page order, without repeats."""
    tree = LexborHTMLParser(page, encoding=True)
    base = tree.css_first("base[href]")
    if base is not None:
        base_url = web_url(base.attributes.get("href"), base_url) or base_url
    urls: list[str] = []
    for link in tree.css("link[href]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        kind = (link.attributes.get("type") or "").split(";")[0].strip().lower()
        url = web_url(link.attributes.get("href"), base_url)
        if "alternate" in rels and kind in FEED_TYPES and url and url not in urls:
            urls.append(url)
    return urls[:MAX_DECLARED]


def _as_feed(result: FetchResult, how: str) -> FoundFeed:
    """FeedParseError if ``result`` holds no feed with at least one entry."""
    entries = parse_feed(result.body, base_url=result.url, feed=result.url,
                         content_type=result.content_type)
    if not entries:
        raise FeedParseError(result.url, "a feed without items")
    return FoundFeed(result.url, feed_title(result.body, result.content_type), len(entries), how)


async def _try(fetcher: Fetcher, url: str, how: str) -> FoundFeed | str:
    """The feed at ``url``, or why it is none."""
    try:
        result = await fetcher.fetch(url)
        return await asyncio.to_thread(_as_feed, result, how)
    except FetchError as exc:
        return f"{url}: {exc.reason}: {exc}"
    except FeedParseError as exc:
        return f"{url}: {exc.reason}"


async def discover(url: str, fetcher: Fetcher) -> Discovery:
    """Feeds offered by the page at ``url``; FetchError if the page itself cannot be fetched."""
    page = await fetcher.fetch(url)
    try:
        itself = await asyncio.to_thread(_as_feed, page, "the URL itself")
        return Discovery([itself], [])
    except FeedParseError:
        pass
    declared = declared_feeds(page.body, page.url)
    usual = [u for u in (web_url(p, page.url) for p in USUAL_PATHS) if u not in declared]
    outcomes = await asyncio.gather(
        *(_try(fetcher, u, "declared") for u in declared),
        *(_try(fetcher, u, "usual path") for u in usual),
    )
    found: list[FoundFeed] = []
    for outcome in outcomes:  # a usual path often redirects to a declared feed: list it once
        if isinstance(outcome, FoundFeed) and all(f.url != outcome.url for f in found):
            found.append(outcome)
    problems = [o for o in outcomes[: len(declared)] if isinstance(o, str)]
    return Discovery(found, problems)


