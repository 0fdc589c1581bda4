"""HTML "latest news" list -> clean entries, for sites without a feed.

``HtmlSelectors`` describes the list with CSS selectors and is validated when the config
loads (bad CSS, unknown time zone, unknown keys all fail there, naming the field).
``parse_html_list`` runs them with selectolax's lexbor engine on the page bytes (encoding
detected from BOM / ``<meta charset>``, else UTF-8). Every item needs a title and a web
link, else it is skipped; when nothing usable comes out, ``SelectorMatchedNothing`` is
raised so a changed page layout is loud. Dates: with ``date_format`` the text must match
that ``strptime`` format; without it, python-dateutil's parser reads common absolute
forms ("01 May 2024 - 23:01", "May 1, 2024 11:01 PM", ISO 8601; numeric dates are read
month-first) but not relative ones ("2 hours ago"). A ``<time datetime=...>`` attribute
wins over the element's text. Naive times are taken in ``timezone``; results are UTC.
Unparseable dates give ``published=None`` and one warning per page. Ids hash the URL.
"""

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateparser
from pydantic import BaseModel, field_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from streams.feeds.entries import Entry, build_entry
from streams.feeds.errors import SelectorMatchedNothing
from streams.feeds.text import clean_text
from streams.feeds.urls import web_url
from streams.logs import log_event

log = logging.getLogger(__name__)


class HtmlSelectors(BaseModel, extra="forbid", frozen=True):
    """CSS selectors locating headlines on a list page (inner ones are relative to ``item``)."""

    item: str
    title: str
    link: str | None = None  # default: the item itself if an <a>, else its first a[href]
    published: str | None = None
    summary: str | None = None
    date_format: str | None = None  # strptime format; default: tolerant dateutil parsing
    timezone: str = "UTC"  # IANA zone the page's naive timestamps are in

    @field_validator("item", "title", "link", "published", "summary")
    @classmethod
    def _valid_css(cls, selector: str | None) -> str | None:
        if selector is not None:
            try:
                LexborHTMLParser("<p></p>").css(selector)
            except SelectolaxError as exc:
                raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc
        return selector

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {name!r}") from exc
        return name

    @field_validator("date_format")
    @classmethod
    def _has_directive(cls, fmt: str | None) -> str | None:
        if fmt is not None and "%" not in fmt:
            raise ValueError(f"date_format {fmt!r} has no strptime %-directive")
        return fmt


def parse_html_list(body: bytes, *, base_url: str, select: HtmlSelectors, feed: str) -> list[Entry]:
    """Entries of the list page in ``body``, in page order."""
    tree = LexborHTMLParser(body, encoding=True)
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base_url = web_url(base_tag.attributes.get("href"), base_url) or base_url
    items = tree.css(select.item)
    if not items:
        raise SelectorMatchedNothing(feed, f"selector 'item' ({select.item!r}) matched nothing")
    entries: list[Entry] = []
    bad_dates: list[str] = []
    for node in items:
        title = _text(node, select.title)
        url = web_url(_href(node, select.link), base_url)
        if not title or not url:
            continue
        summary = _text(node, select.summary) if select.summary else ""
        entry = build_entry(None, url, title, summary, _published(node, select, bad_dates))
        if entry is not None and entry.url:  # a list item needs a link that is not too long
            entries.append(entry)
    if not entries:
        raise SelectorMatchedNothing(
            feed,
            f"selector 'item' ({select.item!r}) matched {len(items)} items but none had a "
            f"title ({select.title!r}) and a link ({select.link or 'default'!r})",
        )
    if bad_dates:
        how = select.date_format or "tolerant parsing"
        log_event(log, logging.WARNING, "feed_dates_unparseable", feed=feed,
                  unparseable=len(bad_dates), entries=len(entries), parsing=how,
                  example=bad_dates[0])
    log_event(log, logging.DEBUG, "feed_items_usable", feed=feed, usable=len(entries),
              items=len(items))
    return entries


def _text(item: LexborNode, selector: str) -> str:
    node = item.css_first(selector)
    return _node_text(node) if node is not None else ""


def _node_text(node: LexborNode) -> str:
    return clean_text(node.text(deep=True, separator=" "))


def _href(item: LexborNode, selector: str | None) -> str | None:
    node = item if selector is None else item.css_first(selector)
    if node is None:
        return None
    if node.tag != "a" or "href" not in node.attributes:
        node = node.css_first("a[href]")
    return node.attributes.get("href") if node is not None else None


def _published(item: LexborNode, select: HtmlSelectors, bad: list[str]) -> datetime | None:
    """Item's date in UTC; unparseable text is appended to ``bad``."""
    node = item.css_first(select.published) if select.published else None
    if node is None:
        return None
    iso = node.attributes.get("datetime")
    text = iso or _node_text(node)
    if not text:
        return None
    try:
        if select.date_format and not iso:
            parsed = datetime.strptime(text, select.date_format)
        else:
            parsed = dateparser.parse(text)
    except (ValueError, OverflowError):
        bad.append(text)
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(select.timezone))
    return parsed.astimezone(UTC)
