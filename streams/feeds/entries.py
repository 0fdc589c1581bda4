"""The clean entry every parser emits, and how its id is derived.

An entry's id is ``headline_id(key)``: the first 32 hex characters of the SHA-256
of the key. The key is, in order of preference:

1. the entry's own guid / Atom id / JSON Feed id, stripped of surrounding space;
2. else its canonical URL (see ``streams.feeds.urls.canonical_url``);
3. else (no link at all) ``"title:" + cleaned title``.

HTML-list entries have no guid, so their key is always the canonical URL.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime


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
