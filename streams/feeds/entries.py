"""The clean entry every parser emits, and how its id is derived.

An entry's id is ``headline_id(key)``: the first 32 hex characters of the SHA-256
of the key. The key is, in order of preference:

1. the entry's own guid / Atom id / JSON Feed id, stripped of surrounding space;
2. else its canonical URL (see ``streams.feeds.urls.canonical_url``);
3. else (no link at all) ``"title:" + cleaned title``.

HTML-list entries have no guid, so their key is always the canonical URL.

Sizes are capped so every headline fits a Kafka message with room to spare: titles at
``TITLE_MAX_CHARS`` and summaries at ``SUMMARY_MAX_CHARS`` (cut at a word, marked "…"),
URLs longer than ``URL_MAX_CHARS`` count as no link, and one poll keeps the first
``ITEMS_MAX`` distinct entries of a document (feeds list newest first).
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from streams.feeds.text import SUMMARY_MAX_CHARS, clean_text, truncate

TITLE_MAX_CHARS = 500
URL_MAX_CHARS = 2048
ITEMS_MAX = 1000
RAW_TEXT_MAX_CHARS = 65_536  # cleaning looks at no more of a raw title or summary


@dataclass(frozen=True, slots=True)
class Entry:
    """One headline. ``published`` is tz-aware UTC, or None when the source gave no date."""

    id: str
    title: str
    url: str
    summary: str
    published: datetime | None


def headline_id(key: str) -> str:
    """Stable 32-hex-char id for an entry key (guid, canonical URL or ``title:...``)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def entry_key(guid: str | None, url: str, title: str) -> str:
    """Pick the id key by the documented preference: guid, then URL, then title."""
    if guid and guid.strip():
        return guid.strip()
    if url:
        return url
    return "title:" + title


def build_entry(
    guid: str | None, url: str, raw_title: str, raw_summary: str, published: datetime | None
) -> Entry | None:
    """A capped, cleaned entry from a canonical ``url`` ("" for none) and raw texts;
    None when it has neither a title nor a link."""
    if len(url) > URL_MAX_CHARS:
        url = ""
    title = truncate(clean_text(raw_title[:RAW_TEXT_MAX_CHARS]), TITLE_MAX_CHARS)
    if not title and not url:
        return None
    summary = truncate(clean_text(raw_summary[:RAW_TEXT_MAX_CHARS]), SUMMARY_MAX_CHARS)
    return Entry(headline_id(entry_key(guid, url, title)), title, url, summary, published)


def distinct_entries(entries: Iterable[Entry], limit: int = ITEMS_MAX) -> list[Entry]:
    """The first ``limit`` entries with distinct ids, in document order."""
    kept: dict[str, Entry] = {}
    for entry in entries:
        if len(kept) >= limit:
            break
        kept.setdefault(entry.id, entry)
    return list(kept.values())
