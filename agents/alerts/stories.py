"""Story de-duplication: many headlines, one story, at a bounded cost per copy.

A headline joins an existing story when, within ``window`` of that story's last sighting,

* its URL has the same *story key* as a URL the story was seen under (the canonical URL
  without scheme, ``www.`` and trailing ``/``), or
* its title is a near-duplicate of the story's first title: the Jaccard similarity of the
  two titles' character 3-gram sets (over folded words, see ``matcher.fold``) is at least
  ``similarity`` (default 0.6). Titles of fewer than ``min_title_words`` words (default 4,
  e.g. "Live updates") never join by title.

Candidates for the title test come from MinHash locality-sensitive hashing (16 hashes in 8
bands of 2, so pairs at similarity 0.6 meet with ~97% probability) and are then verified
exactly, so unrelated stories never merge by hash collision.

All state lives in a plain ``MutableMapping[str, JSON value]`` (a Faust table in the worker),
and every record in it is bounded, whatever the number of copies:

* ``story:<id>``: the summary: first title and URL, first and last seen, the first
  ``FEED_CAP`` feeds, the exact number of distinct feeds (``sources``) and its bands;
* ``url:<hash>`` -> ``[story id, bucket]``: the URL index, the only place URLs are kept;
* ``src:<story>:<hash>`` -> ``[story id, bucket]``: a feed past the cap that carried the story,
  so the source count stays exact;
* ``band:<i>:<hash>``: the ``BAND_CAP`` newest stories in one MinHash band bucket;
* ``ledger:...`` (see ``ledger.py``) and ``meta:pruned``: the sweep of expired state.

Values are replaced, never mutated in place, so a changelog-backed table records every
change. Stories, URL and source entries are filed in hourly buckets (``prune_every``) of their
last write; a bucket is swept once it is older than the window, a few chunks per call: an
entry whose story is still live is filed again under the story's latest bucket, the rest
is deleted. So the state is bounded by what was seen in the last ``window`` +
``prune_every``, and assigning a copy costs the same for the 1st copy and the 100,000th.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from agents.alerts.folding import words
from agents.alerts.ledger import TimeLedger
from streams.feeds.urls import canonical_url

FEED_CAP = 20  # feeds listed in a story record; past it, feeds are counted through src: keys
BAND_CAP = 16  # newest stories kept per MinHash band bucket
TITLE_CAP = 500  # characters of the first title and URL kept in the record
SWEEP_CHUNKS = 4  # ledger chunks swept per assign(): bounds the pause an hourly sweep makes

_PRIME = (1 << 31) - 1  # a * h + b stays below 2**63 for 31-bit a, b and 32-bit h
_HASHES = 16
_ROWS = 2


def _seeded(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


# Fixed MinHash permutations: state must hash the same in every process.
_A = np.array([_seeded(f"a{i}") % (_PRIME - 1) + 1 for i in range(_HASHES)], dtype=np.uint64)
_B = np.array([_seeded(f"b{i}") % _PRIME for i in range(_HASHES)], dtype=np.uint64)


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where a headline went: ``is_new`` story, or joined one ``matched_by`` url or title.

    ``new_source`` is true when this headline's feed had not carried the story before;
    ``sources_count`` is then the story's new (exact) number of feeds.
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


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def story_id_for(headline: Mapping[str, Any]) -> str:
    """A story's id, from its first headline's id: a replay after lost state gives the same."""
    seed = headline.get("id") or headline.get("url") or headline.get("title") or ""
    return "s" + hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()


def _shingles(folded_title: str) -> set[str]:
    """Character 3-grams of a title already folded and joined by single spaces."""
    return {folded_title[i : i + 3] for i in range(len(folded_title) - 2)}


def title_shingles(title: str) -> set[str]:
    """Character 3-grams of the folded title (words joined by single spaces)."""
    return _shingles(" ".join(words(title)))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# Copies of one story mostly share their exact title, and candidate stories come back
# often: ~400 bytes an entry, so 16,384 titles take ~7 MB.
@lru_cache(maxsize=16_384)
def _title_signature(folded_title: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """A folded title's 3-grams (sorted unique CRC-32s) and MinHash band keys."""
    shingles = _shingles(folded_title)
    hashed = np.unique(np.fromiter((zlib.crc32(s.encode()) for s in shingles), np.uint64,
                                   len(shingles)))
    signature = ((_A[:, None] * hashed[None, :] + _B[:, None]) % _PRIME).min(axis=1)
    rows = signature.astype("<u8").reshape(_HASHES // _ROWS, _ROWS)
    return hashed.astype(np.uint32), tuple(
        f"{i}:{hashlib.blake2b(row.tobytes(), digest_size=6).hexdigest()}"
        for i, row in enumerate(rows)
    )


def _hashed_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 0.0


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
        self.ledger = TimeLedger(store)
        self.window = window.total_seconds()
        self.similarity = similarity
        self.min_title_words = min_title_words
        self.bucket_seconds = prune_every.total_seconds()

    def _bucket(self, ts: float) -> int:
        return math.floor(ts / self.bucket_seconds)

    def _live(self, story_id: str | None, now: float) -> dict[str, Any] | None:
        story = self.store.get(f"story:{story_id}") if story_id else None
        if not story or story["last_seen"] + self.window <= now:
            return None
        if "sources" not in story:  # a record written before records were bounded
            story = {**story, "sources": len(story["feeds"]), "first_title": story["title"],
                     "first_url": ""}
            story.pop("url_keys", None)
        return story

    def _by_title(self, title: str, shingles: np.ndarray, bands: tuple[str, ...],
                  now: float) -> dict[str, Any] | None:
        best, best_score = None, self.similarity
        candidates = {sid for band in bands for sid in self.store.get(f"band:{band}", ())}
        for sid in sorted(candidates):  # at most 8 x BAND_CAP
            story = self._live(sid, now)
            if story and story["title"]:
                score = 1.0 if story["title"] == title else _hashed_jaccard(  # a flood: equal
                    shingles, _title_signature(story["title"])[0])
                if score >= best_score:
                    best, best_score = story, score
        return best

    def assign(self, headline: Mapping[str, Any], now: datetime) -> StoryAssignment:
        """Put ``headline`` (a classified headline dict) into a story as of ``now`` (aware)."""
        ts = now.timestamp()
        self.prune(now)
        url_key = _short_hash(story_url_key(headline["url"])) if headline.get("url") else None
        entry = self.store.get(f"url:{url_key}") if url_key else None
        story = self._live(entry if isinstance(entry, str) else entry[0], ts) if entry else None
        matched_by = "url" if story else None
        title = " ".join(words(headline.get("title") or ""))
        bands: tuple[str, ...] = ()
        if len(title.split()) >= self.min_title_words:
            shingles, bands = _title_signature(title)
            if story is None:
                story = self._by_title(title, shingles, bands, ts)
                matched_by = "title" if story else None
        feed = _feed_of(headline)
        if story is None:
            return self._create(headline, url_key, title if bands else "", bands, feed, now)
        updated = {**story, "last_seen": max(ts, story["last_seen"])}
        new_source = self._add_source(updated, feed)
        self._save(updated, previous=story)
        if url_key:
            self._index(f"url:{url_key}", story["id"], updated["last_seen"])
        return StoryAssignment(
            story["id"], False, updated["sources"], new_source, matched_by,
            datetime.fromtimestamp(story["first_seen"], now.tzinfo),
        )  # fmt: skip

    def _add_source(self, story: dict[str, Any], feed: str) -> bool:
        """Count ``feed`` into ``story`` (being updated) unless it carried the story before."""
        if feed in story["feeds"]:
            return False
        if len(story["feeds"]) < FEED_CAP:
            story["feeds"] = [*story["feeds"], feed]
        else:
            key = f"src:{story['id']}:{_short_hash(feed)}"
            if key in self.store:
                return False
            self._index(key, story["id"], story["last_seen"])
        story["sources"] += 1
        return True

    def _index(self, key: str, story_id: str, ts: float) -> None:
        """Point ``key`` at ``story_id``, filed for the sweep under ``ts``'s bucket."""
        bucket = self._bucket(ts)
        entry = self.store.get(key)
        if entry is not None and entry == [story_id, bucket]:
            return  # already there and filed: no write
        self.store[key] = [story_id, bucket]
        if entry is None or entry[1] != bucket:
            self.ledger.file(bucket, key)

    def _create(self, headline: Mapping[str, Any], url_key: str | None, title: str,
                bands: tuple[str, ...], feed: str, now: datetime) -> StoryAssignment:
        ts = now.timestamp()
        story_id = story_id_for(headline)
        story = {
            "id": story_id, "first_seen": ts, "last_seen": ts, "feeds": [feed], "sources": 1,
            "title": title[:TITLE_CAP], "first_title": str(headline.get("title"))[:TITLE_CAP],
            "first_url": str(headline.get("url") or "")[:TITLE_CAP], "bands": list(bands),
        }  # fmt: skip
        self._save(story, previous=None)
        if url_key:
            self._index(f"url:{url_key}", story_id, ts)
        for band in bands:
            ids = [sid for sid in self.store.get(f"band:{band}", ()) if sid != story_id]
            self.store[f"band:{band}"] = [*ids[-(BAND_CAP - 1):], story_id]
        return StoryAssignment(story_id, True, 1, True, None, now)

    def _save(self, story: dict[str, Any], previous: dict[str, Any] | None) -> None:
        self.store[f"story:{story['id']}"] = story
        bucket = self._bucket(story["last_seen"])
        if previous is None or self._bucket(previous["last_seen"]) != bucket:
            self.ledger.file(bucket, f"story:{story['id']}")

    def prune(self, now: datetime) -> int:
        """Sweep state unseen for longer than the window, at most ``SWEEP_CHUNKS`` ledger
        chunks per call; returns how many stories were dropped."""
        # bucket b holds last sightings before (b + 1) * size; all expired once that + window <= ts
        last_expired = math.floor((now.timestamp() - self.window) / self.bucket_seconds) - 1
        cursor = self.store.get("meta:pruned")
        if cursor is None:
            self.store["meta:pruned"] = last_expired
            return 0
        dropped = chunks = 0
        bucket = cursor + 1
        while bucket <= last_expired and chunks < SWEEP_CHUNKS:
            count = self.ledger.chunks(bucket)
            for index in range(count):
                keys = self.ledger.take_chunk(bucket, index)
                if keys:
                    dropped += sum(self._sweep(key, bucket) for key in keys)
                    chunks += 1
                    if chunks >= SWEEP_CHUNKS and index < count - 1:
                        return dropped  # the bucket is finished on a later call
            self.ledger.forget(bucket)
            self.store["meta:pruned"] = bucket
            bucket += 1
        return dropped

    def _sweep(self, key: str, bucket: int) -> bool:
        """Drop ``key`` (filed under expired ``bucket``) or refile it; True for a dropped story."""
        value = self.store.get(key)
        if value is None:
            return False
        if key.startswith("story:"):
            if self._bucket(value["last_seen"]) != bucket:
                return False  # seen since: filed under its later bucket
            self._drop(value)
            return True
        story_id, filed = value
        if filed != bucket:
            return False  # written since: filed under its later bucket
        story = self.store.get(f"story:{story_id}")
        if story is not None and self._bucket(story["last_seen"]) > bucket:
            self._index(key, story_id, story["last_seen"])  # the story lives on: so does this
        else:
            del self.store[key]
        return False

    def _drop(self, story: dict[str, Any]) -> None:
        story_id = story["id"]
        del self.store[f"story:{story_id}"]
        for band in story["bands"]:
            rest = [s for s in self.store.get(f"band:{band}", ()) if s != story_id]
            if rest:
                self.store[f"band:{band}"] = rest
            else:
                self.store.pop(f"band:{band}", None)
