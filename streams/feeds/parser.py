"""Feed bytes -> clean entries, for RSS 0.9x/1.0 (RDF)/2.0, Atom and JSON Feed 1.0/1.1.

XML feeds go through ``feedparser`` on the bytes themselves (wrapped in a stream, so it
never fetches a URL or opens a file), with relative-URI resolution left to us: every link
goes through ``web_url`` against the feed's URL (non-web links count as no link). JSON
Feed, which feedparser does not read, is recognised by a JSON content type or a leading
``{`` and parsed here. Malformed-but-recoverable feeds (feedparser's "bozo" flag) are
accepted when entries come out; a body that is no feed at all raises ``FeedParseError``.
See ``entries`` for how ids are chosen.
"""

import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from streams.feeds.entries import Entry, build_entry
from streams.feeds.errors import FeedParseError
from streams.feeds.urls import web_url
from streams.logs import log_event

log = logging.getLogger(__name__)

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"


@dataclass(frozen=True, slots=True)
class _RawItem:
    """One item as the source format spelled it, before cleaning."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None


def parse_feed(
    body: bytes, *, base_url: str, feed: str, content_type: str | None = None
) -> list[Entry]:
    """Entries of the feed in ``body``, in document order; FeedParseError if it is no feed."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise FeedParseError(feed, "not a feed: empty body")
    if head == b"{" or ("json" in (content_type or "").lower() and head != b"<"):
        return _entries(_json_feed_items(body, feed), base_url=base_url, feed=feed)
    raw, problem = _xml_feed_items(body, feed, content_type)
    entries = _entries(raw, base_url=base_url, feed=feed)
    if not entries and problem:
        raise FeedParseError(feed, f"{problem}; no usable entries recovered")
    return entries


def _entries(raw: Iterable[_RawItem], *, base_url: str, feed: str) -> list[Entry]:
    entries: list[Entry] = []
    skipped = 0
    for item in raw:
        entry = build_entry(item.guid, web_url(item.link, base_url), item.title, item.summary,
                            item.published)
        if entry is None:
            skipped += 1
            continue
        entries.append(entry)
    if skipped:
        log_event(log, logging.DEBUG, "feed_entries_untitled", feed=feed, skipped=skipped,
                  why="neither title nor link")
    return entries


def _xml_feed_items(
    body: bytes, feed: str, content_type: str | None
) -> tuple[list[_RawItem], str | None]:
    """Raw items, plus what feedparser found malformed (None for a well-formed feed)."""
    headers = {"content-type": content_type} if content_type else {}
    result = feedparser.parse(
        io.BytesIO(body), response_headers=headers, resolve_relative_uris=False
    )
    problem = f"malformed {result.version or 'XML'} feed ({result.get('bozo_exception')})"
    if not result.version and not result.entries:
        is_html = any(tag in body[:1024].lower() for tag in (b"<html", b"<!doctype html"))
        what = "an HTML page" if is_html else "no RSS, Atom or RDF document"
        raise FeedParseError(feed, f"not a feed: {what}")
    items = [
        _RawItem(
            guid=e.get("id"),
            link=_xml_link(e),
            title=e.get("title", ""),
            summary=e.get("summary") or _first_content(e),
            published=_entry_date(e),
        )
        for e in result.entries
    ]
    return items, problem if result.bozo else None


def _xml_link(e: Any) -> str | None:
    """The entry's link; a link feedparser copied from the guid only if it is a URL."""
    link = e.get("link")
    if link and e.get("guidislink"):
        return link if web_url(link) else None
    return link


def _first_content(e: Any) -> str:
    content = e.get("content") or []
    return content[0].get("value", "") if content else ""


def _entry_date(e: Any) -> datetime | None:
    """Published, else updated date; feedparser's parsed dates are UTC struct_times."""
    for key in ("published_parsed", "updated_parsed"):
        # plain dict lookup: FeedParserDict maps a missing updated_parsed to published_parsed
        st = dict.get(e, key)
        if st:
            try:
                return datetime(*st[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                return None
    return None


def _json_feed_items(body: bytes, feed: str) -> Iterator[_RawItem]:
    try:
        doc = json.loads(body.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise FeedParseError(feed, f"not a feed: invalid JSON ({exc})") from exc
    except RecursionError as exc:  # json's own bound on nesting (the recursion limit)
        raise FeedParseError(feed, "not a feed: JSON nested too deeply") from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        JSON_FEED_VERSION_PREFIX
    ):
        raise FeedParseError(feed, "not a feed: JSON without a jsonfeed.org 'version'")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError(feed, "not a feed: JSON Feed without an 'items' list")
    for item in items:
        if not isinstance(item, dict):
            continue
        guid = item.get("id")
        yield _RawItem(
            guid=str(guid) if guid is not None else None,
            link=_json_str(item, "url") or _json_str(item, "external_url"),
            title=_json_str(item, "title"),
            summary=_json_str(item, "summary")
            or _json_str(item, "content_html")
            or _json_str(item, "content_text"),
            published=_rfc3339_to_utc(
                _json_str(item, "date_published") or _json_str(item, "date_modified")
            ),
        )


def _json_str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _rfc3339_to_utc(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        log_event(log, logging.DEBUG, "feed_date_unparseable", format="json_feed", value=value)
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
