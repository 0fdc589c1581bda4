"""What survives restarts about one feed, and how it is stored in the ``feed-state`` table.

``FeedState`` is the in-memory view the poller works on. In the table it is split so
that the changelog carries bytes in proportion to what changed:

- the *core* record, key ``<feed>``: validators, back-off and the last error, a few
  hundred bytes. It is written only when something other than the poll times changed,
  so a 304 writes nothing (``state_writes``);
- the *seen ids*, in 16 segment records, key ``<feed>/seen/<h>`` for the first hex digit
  ``h`` of the id. Each id is stored as its first 8 bytes plus a uint32 "last seen in the
  feed" stamp (12 bytes, base64): 10,000 ids, the cap, take 160 KB in all, about 10 KB a
  segment, far below Kafka's 1 MB message limit. A new headline rewrites one segment.
  An id still in the feed gets a fresh stamp only once a day (``SEEN_REFRESH``), so an
  unchanged feed rewrites no segment.

Records of the earlier single-record format (``seen`` inside the core) are read as well
and are rewritten in this format at their next change.
"""

from __future__ import annotations

import base64
import logging
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from streams.config import FeedConfig
from streams.logs import log_event

log = logging.getLogger(__name__)

SEEN_RETENTION = 30 * 86_400.0  # keep ids this long after they were last seen in the feed
SEEN_REFRESH = 86_400.0  # re-stamp an id still in the feed at most this often
SEEN_MAX = 10_000  # per feed; the oldest ids that left the feed go first
SEEN_KEY_CHARS = 16  # an id is remembered by its first 8 bytes (16 hex characters)
SEGMENT_DIGITS = "0123456789abcdef"
_ID_STAMP = struct.Struct(">8sI")
_POLL_TIMES = ("last_attempt", "last_success")


@dataclass(frozen=True, slots=True)
class FeedState:
    """Validators, back-off and seen ids of one feed."""

    etag: str | None = None
    last_modified: str | None = None
    last_attempt: float = 0.0
    last_success: float | None = None
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None
    seen: Mapping[str, float] = field(default_factory=dict)  # seen_key(id) -> last seen

    def to_json(self) -> dict:
        """The core record (everything but the seen ids)."""
        return {name: getattr(self, name) for name in _CORE_FIELDS}

    @classmethod
    def from_json(cls, data: object, seen: Mapping[str, float] | None = None) -> FeedState:
        """From a core record and the seen ids. Unknown keys, and values of the wrong type
        (a damaged record), are left out: their defaults apply. An old inline ``seen``
        is read."""
        record = data if isinstance(data, dict) else {}
        known = {k: v for k, v in record.items() if isinstance(v, _CORE_TYPES.get(k, ()))}
        if seen is None:
            inline = record.get("seen")
            seen = {seen_key(i): float(t) for i, t in inline.items()
                    if isinstance(i, str) and isinstance(t, int | float)
                    } if isinstance(inline, dict) else {}
        return cls(**known, seen=seen)

    def is_due(self, feed: FeedConfig, now: float, jitter: float) -> bool:
        """Whether a tick at ``now`` should poll: not backing off, interval elapsed.

        The leader spaces ticks by ``interval`` +- ``jitter``; the tolerance keeps
        a slightly early tick from being skipped (which would double the interval).
        """
        if now < self.retry_at:
            return False
        return now - self.last_attempt >= feed.interval * (1.0 - jitter) * 0.9


_CORE_FIELDS = tuple(f.name for f in fields(FeedState) if f.name != "seen")
_NUMBER = (int, float)
_CORE_TYPES: dict[str, tuple[type, ...]] = {
    "etag": (str, type(None)), "last_modified": (str, type(None)), "last_attempt": _NUMBER,
    "last_success": (*_NUMBER, type(None)), "failures": (int,), "retry_at": _NUMBER,
    "last_error": (str, type(None)),
}


def seen_key(headline_id: str) -> str:
    """How an id is remembered: its first 16 hex characters (64 bits)."""
    return headline_id[:SEEN_KEY_CHARS]


def remember(seen: Mapping[str, float], current: Iterable[str], now: float) -> dict[str, float]:
    """Seen ids after a successful parse of the ids ``current`` (seen keys).

    New ids are stamped ``now``; ids still listed are re-stamped once their stamp is a
    ``SEEN_REFRESH`` old; ids gone for ``SEEN_RETENTION`` are forgotten. Beyond
    ``SEEN_MAX`` the ids that left the feed longest ago go first (parsing keeps at most
    ``ITEMS_MAX`` ids a poll, far fewer, so ids still listed are never dropped).
    """
    present = set(current)
    kept = {i: t for i, t in seen.items() if i in present or now - t < SEEN_RETENTION}
    for item_id in present:
        if now - kept.get(item_id, -SEEN_REFRESH) >= SEEN_REFRESH:
            kept[item_id] = now
    if len(kept) > SEEN_MAX:  # a hard bound: the ids still listed go last
        oldest_first = sorted(kept, key=lambda i: (i in present, kept[i], i))
        for item_id in oldest_first[: len(kept) - SEEN_MAX]:
            del kept[item_id]
    return kept


def segment_key(feed: str, digit: str) -> str:
    return f"{feed}/seen/{digit}"


class SeenIds(Mapping[str, float]):
    """Seen ids decoded from their segment records on first use: a 304 never needs them.
    A segment that does not decode is logged and left out (it is rewritten at the next
    change)."""

    def __init__(self, feed: str, segments: dict[str, str]) -> None:
        self._feed = feed
        self._segments = segments
        self._ids: dict[str, float] | None = None
        self.damaged = False  # a segment did not decode (known once decoded)

    def _decoded(self) -> dict[str, float]:
        if self._ids is None:
            self._ids = {}
            for digit, text in self._segments.items():
                try:
                    self._ids.update(decode_seen(text))
                except (ValueError, TypeError, struct.error) as exc:  # binascii: ValueError
                    self.damaged = True
                    log_event(log, logging.WARNING, "feed_state_invalid", feed=self._feed,
                              key=segment_key(self._feed, digit), error=str(exc))
        return self._ids

    def __getitem__(self, item_id: str) -> float:
        return self._decoded()[item_id]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._decoded()

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


def encode_seen(seen: Mapping[str, float]) -> str:
    """Base64 of the sorted (8-byte id, uint32 stamp) pairs."""
    packed = b"".join(
        _ID_STAMP.pack(bytes.fromhex(i), int(t)) for i, t in sorted(seen.items())
    )
    return base64.b64encode(packed).decode("ascii")


def decode_seen(text: str) -> dict[str, float]:
    return {i.hex(): float(t) for i, t in _ID_STAMP.iter_unpack(base64.b64decode(text))}


@dataclass(frozen=True, slots=True)
class StoredState:
    """A feed's state as read from the table, with the raw records it came from."""

    state: FeedState
    core: dict | None
    segments: dict[str, str]


def load_state(get: Callable[[str], Any], feed: str) -> StoredState:
    """Read ``feed``'s records through ``get`` (the table's ``get``)."""
    core = get(feed)
    segments = {d: text for d in SEGMENT_DIGITS if (text := get(segment_key(feed, d)))}
    state = FeedState.from_json(core, SeenIds(feed, segments) if segments else None)
    if core is not None:
        damaged = [k for k, v in core.items() if not isinstance(v, _CORE_TYPES.get(k, object))
                   ] if isinstance(core, dict) else ["the whole record"]
        if damaged:
            log_event(log, logging.WARNING, "feed_state_invalid", feed=feed, key=feed,
                      error=f"unusable {', '.join(damaged)}; defaults apply")
    return StoredState(state, core if isinstance(core, dict) else None, segments)


def state_writes(feed: str, stored: StoredState, new: FeedState) -> dict[str, Any]:
    """Table writes that store ``new``: key -> value, None to delete a segment.

    Nothing when only the poll times changed (a 304): the caller keeps those in memory.
    """
    writes: dict[str, Any] = {}
    core = new.to_json()
    old_core = dict(stored.core or {})
    if "seen" in old_core or _without_times(core) != _without_times(old_core):
        writes[feed] = core
    seen = stored.state.seen
    unchanged = new.seen is seen or new.seen == seen
    if unchanged and "seen" not in old_core and not getattr(seen, "damaged", False):
        return writes  # a 304, or a 200 with nothing new and no stamp to refresh
    by_digit: dict[str, dict[str, float]] = {}
    for item_id, stamp in new.seen.items():
        by_digit.setdefault(item_id[0], {})[item_id] = stamp
    for digit in SEGMENT_DIGITS:
        text = encode_seen(by_digit[digit]) if digit in by_digit else None
        if text != stored.segments.get(digit):
            writes[segment_key(feed, digit)] = text
    return writes


def _without_times(core: dict) -> dict:
    return {k: v for k, v in core.items() if k not in _POLL_TIMES}
