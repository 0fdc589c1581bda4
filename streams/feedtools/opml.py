"""OPML subscription lists in and out (``wirewatch feeds import`` / ``feeds export``).

Reading: the file must be well-formed XML with an ``<opml>`` root (checked with the
standard library's expat parser, which gives the line of a fault and refuses entity
expansion bombs); ``listparser`` then extracts the subscriptions, whatever reader wrote
them (OPML 1.0/1.1/2.0, ``text`` or ``title``, ``xmlUrl`` in any case, folders as nested
outlines or a ``category`` attribute). Each becomes a ``Subscription`` named
``category/title`` in slug form, e.g. ``world/guardian-world``; nested folders give
``news/world/guardian-world``. Writing is OPML 2.0, folders rebuilt from the names.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import quoteattr

import listparser

from streams.config import FeedConfig
from streams.feeds.urls import site_host, web_url

MAX_NAME = 100  # the config's limit on feed names
MAX_LEAF = 40  # characters of a title kept in a name
FEED_TYPES = frozenset({"", "rss", "atom", "feed"})


class OpmlError(Exception):
    """An OPML file that cannot be read; the message starts with ``file:line:``."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed of an OPML file, ready to become a ``feeds:`` entry."""

    name: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class OpmlContents:
    subscriptions: list[Subscription]
    skipped: list[str]  # one line per outline that could not become a feed, and why


def slug(text: str) -> str:
    """``"The Guardian – World"`` -> ``"the-guardian-world"`` (ASCII letters, digits, -)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _scraped_urls(data: bytes, source: str) -> dict[str, str]:
    """xmlUrl -> type of outlines that a reader scrapes rather than polls as a feed (such
    as FreshRSS's ``type="HTML+XPath"``); raises OpmlError for a file that is no OPML."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise OpmlError(f"{source}:{line}: not well-formed XML: {reason} "
                        f"(column {column + 1})") from None
    tag = root.tag.rsplit("}", 1)[-1]
    if tag.lower() != "opml":
        raise OpmlError(f"{source}:1: not an OPML file: the root element is <{tag}>, "
                        "not <opml>")
    scraped = {}
    for outline in root.iter("outline"):
        kind = (outline.get("type") or "").strip().lower()
        url = next((v for k, v in outline.attrib.items() if k.lower() == "xmlurl"), None)
        if url and kind not in FEED_TYPES:
            scraped[url.strip()] = outline.get("type", "")
    return scraped


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate, number = name[: MAX_NAME - len(suffix)] + suffix, number + 1
    taken.add(candidate)
    return candidate


def _feed_name(title: str, url: str, folders: Sequence[str]) -> str:
    leaf = slug(title) or slug(site_host(url)) or "feed"
    if len(leaf) > MAX_LEAF:
        leaf = leaf[:MAX_LEAF].rsplit("-", 1)[0]
    path = [s for s in map(slug, folders) if s]
    return "/".join([*path, leaf])[-MAX_NAME:].strip("/-")


def read_opml(data: bytes, source: str, *, taken_names: Iterable[str] = ()) -> OpmlContents:
    """The subscriptions in OPML ``data`` read from ``source`` (named in errors).

    Names avoid ``taken_names`` and each other by a numeric suffix (``-2``).
    """
    scraped = _scraped_urls(data, source)
    parsed = listparser.parse(data)
    taken = set(taken_names)
    subscriptions: list[Subscription] = []
    skipped: list[str] = []
    for feed in parsed.feeds:
        title = " ".join(str(feed.get("title") or "").split())
        url = web_url(feed.get("url"))
        if feed.get("url") in scraped:
            skipped.append(f"{source}: outline {title!r}: type {scraped[feed.get('url')]!r} "
                           "is a scraped page, not a feed; `wirewatch feeds probe URL` "
                           "suggests selectors for it")
            continue
        if not url:
            skipped.append(f"{source}: outline {title or '(untitled)'!r}: xmlUrl "
                           f"{feed.get('url')!r} is not an http(s) URL")
            continue
        categories = feed.get("categories") or [[]]
        name = _unique(_feed_name(title, url, categories[0]), taken)
        subscriptions.append(Subscription(name, url, title or name))
    return OpmlContents(subscriptions, skipped)


def _outline(feed: FeedConfig, indent: str) -> str:
    leaf = feed.name.rsplit("/", 1)[-1]
    if feed.kind == "html":  # not a feed: readers see a link, importers skip it
        return (f"{indent}<outline type=\"link\" text={quoteattr(leaf)} "
                f"url={quoteattr(str(feed.url))}/>")
    return (f"{indent}<outline type=\"rss\" text={quoteattr(leaf)} title={quoteattr(leaf)} "
            f"xmlUrl={quoteattr(str(feed.url))}/>")


def _body(feeds: Sequence[tuple[list[str], FeedConfig]], depth: int) -> list[str]:
    """Outlines for ``feeds`` (folder path, feed); feeds first, then folders in order."""
    indent = "  " * (depth + 2)
    lines = [_outline(feed, indent) for path, feed in feeds if not path]
    folders: dict[str, list[tuple[list[str], FeedConfig]]] = {}
    for path, feed in feeds:
        if path:
            folders.setdefault(path[0], []).append((path[1:], feed))
    for folder, inside in folders.items():
        lines.append(f"{indent}<outline text={quoteattr(folder)} title={quoteattr(folder)}>")
        lines += _body(inside, depth + 1)
        lines.append(f"{indent}</outline>")
    return lines


def write_opml(feeds: Sequence[FeedConfig], *, title: str = "Wirewatch feeds",
               now: datetime | None = None) -> str:
    """OPML 2.0 for ``feeds``; a name ``a/b/x`` is feed ``x`` in folder ``b`` inside ``a``."""
    created = format_datetime(now or datetime.now(UTC), usegmt=True)
    pairs = [(feed.name.split("/")[:-1], feed) for feed in feeds]
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head>\n    <title>{_text(title)}</title>\n"
        f"    <dateCreated>{created}</dateCreated>\n  </head>",
        "  <body>",
        *_body(pairs, 0),
        "  </body>",
        "</opml>",
        "",
    ])


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]
