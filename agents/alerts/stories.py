"""Story de-duplication: many headlines, one story.

A headline joins an existing story when, within ``window`` of that story's last sighting,

* its URL has the same *story key* as one of the story's URLs (the canonical URL without
  scheme, ``www.`` and trailing ``/``), or
* its title is a near-duplicate of the story's first title: the Jaccard similarity of the
  two titles' character 3-gram sets (over folded words, see ``matcher.fold``) is at least
  ``similarity`` (default 0.6). Titles of fewer than ``min_title_words`` words (default 4,
  e.g. "Live updates") never join by title.

Candidates for the title test come from MinHash locality-sensitive hashing (16 hashes in 8
bands of 2, so pairs at similarity 0.6 meet with ~97% probability) and are then verified
exactly, so unrelated stories never merge by hash collision. ``sources_count`` is the number
of distinct feeds that carried the story.

All state lives in a plain ``MutableMapping[str, JSON value]`` (a Faust table in the worker):
``story:<id>``, ``url:<key>``, ``band:<i>:<hash>`` and ``bucket:<n>`` entries plus
``meta:pruned``. Values are replaced, never mutated in place, so a changelog-backed table
records every change. Stories are filed in time buckets (``prune_every``, default 1 h) by
last sighting; buckets older than the window are swept as time advances, so the state stays
bounded by the stories seen in the last ``window`` + ``prune_every``.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from agents.alerts.matcher import words
from streams.feeds.urls import canonical_url

_PRIME = (1 << 61) - 1
_HASHES = 16
_ROWS = 2
# Fixed (a, b) pairs for the MinHash permutations: state must hash the same in every process.
_PERMUTATIONS = [
    (int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest()) % _PRIME | 1,
     int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest()) % _PRIME)
    for i in range(_HASHES)
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where a headline went: ``is_new`` story, or joined one ``matched_by`` url or title.

    ``new_source`` is true when this headline's feed had not carried the story before,
    i.e. when an update record (with the higher ``sources_count``) is due.
    """

    story_id: str
    is_new: bool
    sources_count: int
    new_source: bool
    matched_by: str | None
    first_seen: datetime


def story_url_key(url: str) -> str:
    """The URL part of story identity: canonical URL minus scheme, ``www.`` and trailing /."""
    parts = urlsplit(canonical_url(url))
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def _shingles(folded_title: str) -> set[str]:
    """Character 3-grams of a title already folded and joined by single spaces."""
    return {folded_title[i : i + 3] for i in range(len(folded_title) - 2)}


def title_shingles(title: str) -> set[str]:
    """Character 3-grams of the folded title (words joined by single spaces)."""
    return _shingles(" ".join(words(title)))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _bands(shingles: set[str]) -> list[str]:
    hashed = [zlib.crc32(s.encode()) for s in shingles]
    signature = [min((a * h + b) % _PRIME for h in hashed) for a, b in _PERMUTATIONS]
    bands = []
    for i in range(_HASHES // _ROWS):
        rows = repr(signature[i * _ROWS : (i + 1) * _ROWS]).encode()
        bands.append(f"{i}:{hashlib.blake2b(rows, digest_size=6).hexdigest()}")
    return bands


def _feed_of(headline: Mapping[str, Any]) -> str:
    return str(headline.get("feed") or headline.get("source") or "")


class StoryIndex:
    """Assigns headlines to stories; ``store`` holds all state (see the module docstring)."""

    def __init__(
        self,
        store: MutableMapping[str, Any],
        window: timedelta = timedelta(hours=48),
        *,
        similarity: float = 0.6,
        min_title_words: int = 4,
        prune_every: timedelta = timedelta(hours=1),
    ) -> None:
        if window <= timedelta(0) or prune_every <= timedelta(0):
            raise ValueError("window and prune_every must be positive")
        self.store = store
        self.window = window.total_seconds()
        self.similarity = similarity
        self.min_title_words = min_title_words
        self.bucket_seconds = prune_every.total_seconds()

    def _live(self, story_id: str | None, now: float) -> dict[str, Any] | None:
        story = self.store.get(f"story:{story_id}") if story_id else None
        return story if story and story["last_seen"] + self.window > now else None

    def _by_title(self, shingles: set[str], bands: list[str], now: float) -> dict[str, Any] | None:
        best, best_score = None, self.similarity
        candidates = {sid for band in bands for sid in self.store.get(f"band:{band}", ())}
        for sid in sorted(candidates):
            story = self._live(sid, now)
            if story and story["title"]:
                score = jaccard(shingles, _shingles(story["title"]))
                if score >= best_score:
                    best, best_score = story, score
        return best

    def assign(self, headline: Mapping[str, Any], now: datetime) -> StoryAssignment:
        """Put ``headline`` (a classified headline dict) into a story as of ``now`` (aware)."""
        ts = now.timestamp()
        self.prune(now)
        url_key = story_url_key(headline["url"]) if headline.get("url") else None
        story = self._live(self.store.get(f"url:{url_key}"), ts) if url_key else None
        matched_by = "url" if story else None
        title = " ".join(words(headline.get("title") or ""))
        shingles, bands = set(), []
        if len(title.split()) >= self.min_title_words:
            shingles = _shingles(title)
            bands = _bands(shingles)
            if story is None:
                story = self._by_title(shingles, bands, ts)
                matched_by = "title" if story else None
        feed = _feed_of(headline)
        if story is None:
            return self._create(url_key, title if bands else "", bands, feed, now)
        new_source = feed not in story["feeds"]
        updated = {
            **story,
            "last_seen": ts,
            "feeds": story["feeds"] + [feed] if new_source else story["feeds"],
            "url_keys": sorted({*story["url_keys"], *([url_key] if url_key else [])}),
        }
        self._save(updated, previous=story)
        if url_key:
            self.store[f"url:{url_key}"] = story["id"]
        return StoryAssignment(
            story["id"], False, len(updated["feeds"]), new_source, matched_by,
            datetime.fromtimestamp(story["first_seen"], now.tzinfo),
        )  # fmt: skip

    def _create(
        self, url_key: str | None, title: str, bands: list[str], feed: str, now: datetime
    ) -> StoryAssignment:
        ts = now.timestamp()
        seed = f"{url_key or title}\x1f{ts}".encode()
        story_id = "s" + hashlib.blake2b(seed, digest_size=8).hexdigest()
        story = {
            "id": story_id, "first_seen": ts, "last_seen": ts, "feeds": [feed],
            "title": title, "bands": bands, "url_keys": [url_key] if url_key else [],
        }  # fmt: skip
        self._save(story, previous=None)
        if url_key:
            self.store[f"url:{url_key}"] = story_id
        for band in bands:
            self.store[f"band:{band}"] = [*self.store.get(f"band:{band}", ()), story_id]
        return StoryAssignment(story_id, True, 1, True, None, now)

    def _bucket(self, ts: float) -> int:
        return math.floor(ts / self.bucket_seconds)

    def _save(self, story: dict[str, Any], previous: dict[str, Any] | None) -> None:
        self.store[f"story:{story['id']}"] = story
        bucket = self._bucket(story["last_seen"])
        if previous is None or self._bucket(previous["last_seen"]) != bucket:
            self.store[f"bucket:{bucket}"] = [*self.store.get(f"bucket:{bucket}", ()), story["id"]]

    def prune(self, now: datetime) -> int:
        """Drop stories unseen for longer than the window; returns how many were dropped."""
        ts = now.timestamp()
        # bucket b holds last sightings before (b + 1) * size; all expired once that + window <= ts
        last_expired = math.floor((ts - self.window) / self.bucket_seconds) - 1
        pruned = self.store.get("meta:pruned")
        if pruned is None:
            self.store["meta:pruned"] = last_expired
            return 0
        dropped = 0
        for bucket in range(pruned + 1, last_expired + 1):
            for story_id in self.store.pop(f"bucket:{bucket}", ()):
                story = self.store.get(f"story:{story_id}")
                if story and self._bucket(story["last_seen"]) == bucket:
                    self._drop(story)
                    dropped += 1
        if last_expired > pruned:
            self.store["meta:pruned"] = last_expired
        return dropped

    def _drop(self, story: dict[str, Any]) -> None:
        story_id = story["id"]
        del self.store[f"story:{story_id}"]
        for url_key in story["url_keys"]:
            if self.store.get(f"url:{url_key}") == story_id:
                del self.store[f"url:{url_key}"]
        for band in story["bands"]:
            rest = [s for s in self.store.get(f"band:{band}", ()) if s != story_id]
            if rest:
                self.store[f"band:{band}"] = rest
            else:
                self.store.pop(f"band:{band}", None)
