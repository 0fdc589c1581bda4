"""A time ledger: keys filed by time bucket, in bounded chunks, for sweeping expired state.

The story index files every key it may later delete (``story:``, ``url:``, ``src:``) under
the time bucket of its last write. Each bucket's keys sit in chunks of at most ``chunk``
keys (``<prefix>:<bucket>:<i>``, with the chunk count in ``<prefix>:<bucket>:n``), so
filing one key rewrites one bounded record whatever the number of keys, and a sweep reads
a bucket chunk by chunk. The ledger only remembers keys; the caller decides at sweep time
whether each key is dropped or filed again under a later bucket.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

CHUNK = 500  # keys per chunk: ~12 KB of JSON with the index's short keys


class TimeLedger:
    """Keys filed by time bucket in ``store`` under ``prefix``."""

    def __init__(self, store: MutableMapping[str, Any], prefix: str = "ledger",
                 chunk: int = CHUNK) -> None:
        if chunk < 1:
            raise ValueError("chunk must be positive")
        self.store = store
        self.prefix = prefix
        self.chunk = chunk

    def file(self, bucket: int, key: str) -> None:
        """Remember ``key`` under ``bucket`` (the caller files each key once per bucket)."""
        count_key = f"{self.prefix}:{bucket}:n"
        chunks = self.store.get(count_key) or 0
        last = f"{self.prefix}:{bucket}:{chunks - 1}"
        current = self.store.get(last) if chunks else None
        if current is None or len(current) >= self.chunk:
            self.store[count_key] = chunks + 1
            self.store[f"{self.prefix}:{bucket}:{chunks}"] = [key]
        else:
            self.store[last] = [*current, key]

    def chunks(self, bucket: int) -> int:
        return self.store.get(f"{self.prefix}:{bucket}:n") or 0

    def take_chunk(self, bucket: int, index: int) -> list[str]:
        """The keys of one chunk of ``bucket``, removing the chunk from the store."""
        return self.store.pop(f"{self.prefix}:{bucket}:{index}", None) or []

    def forget(self, bucket: int) -> None:
        """Remove ``bucket``'s chunk count once all its chunks were taken."""
        self.store.pop(f"{self.prefix}:{bucket}:n", None)

    def keys_of(self, bucket: int) -> Iterator[str]:
        """Every key filed under ``bucket`` (read only; for tests and inspection)."""
        for index in range(self.chunks(bucket)):
            yield from self.store.get(f"{self.prefix}:{bucket}:{index}") or ()
