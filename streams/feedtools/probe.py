"""``wirewatch feeds probe URL``: what Wirewatch would publish from a URL, without Kafka.

The URL is polled once exactly as the worker polls a feed on its first poll (the
worker's ``Poller``: same fetcher, limits, parsers and headline records), with a fresh
state, so every headline listed is one the worker would publish, in its order. With
``select`` the page is read as an HTML list; without it, a feed is expected, and for an
HTML page the candidates of ``suggest`` are returned instead. Classification comes from
the classifier the agents register (``register_classifier``), as this package does not
import the agents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from streams.config import FeedConfig, PollingConfig
from streams.feeds.fetcher import Fetcher, FetchResult
from streams.feeds.htmllist import HtmlSelectors
from streams.feeds.poller import FeedState, Poller, PollOutcome
from streams.feeds.urls import site_host
from streams.feedtools.opml import slug
from streams.feedtools.suggest import Candidate, suggest_selectors
from streams.records import ClassifiedHeadline, Headline

Classify = Callable[[list[Headline]], list[ClassifiedHeadline]]
_classifiers: list[Classify] = []


def register_classifier(classify: Classify) -> Classify:
    """Let the classification agent classify probed headlines (as the pipeline would)."""
    _classifiers.append(classify)
    return classify


class _FetchOnce(Fetcher):
    """The worker's fetcher, remembering answers, so a probe fetches each URL once."""

    def __init__(self, polling: PollingConfig) -> None:
        super().__init__(polling)
        self.answers: dict[str, FetchResult] = {}

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> FetchResult:
        if url not in self.answers:
            self.answers[url] = await super().fetch(url, etag=etag, last_modified=last_modified)
        return self.answers[url]


def looks_like_html(result: FetchResult) -> bool:
    if "html" in (result.content_type or "").lower():
        return True
    head = result.body.lstrip()[:1024].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


@dataclass(slots=True)
class Probe:
    feed: FeedConfig
    outcome: PollOutcome | None = None  # None when an HTML page came without selectors
    records: list[Headline] = field(default_factory=list)  # what would be published
    candidates: list[Candidate] = field(default_factory=list)


async def probe(url: str, polling: PollingConfig, select: HtmlSelectors | None) -> Probe:
    """Poll ``url`` once like the worker would; FetchError if it cannot be fetched."""
    poller = Poller(polling, _FetchOnce(polling))
    try:
        return await _probe(url, poller, select)
    finally:
        await poller.close()


async def _probe(url: str, poller: Poller, select: HtmlSelectors | None) -> Probe:
    page = await poller.fetcher.fetch(url)
    feed = FeedConfig(name=slug(site_host(page.url)) or "probe", url=url,
                      kind="html" if select else "feed", select=select)
    if select is None and looks_like_html(page):
        return Probe(feed, candidates=suggest_selectors(page.body, page.url))
    outcome = await poller.poll(feed, FeedState())
    records: list[Headline] = list(outcome.new)
    if outcome.new and _classifiers:
        records = list(_classifiers[-1](outcome.new))
    return Probe(feed, outcome, records)

