"""A write-behind view of a Faust table: writes are held in memory until ``flush()``.

The desk rewrites the same few records many times while a flood runs: one story record
per copy, the same surge counters per headline. Through this view a batch of candidates
costs one changelog record per *changed key*, not one per write. Reads see the held
writes first, so the logic above it behaves exactly as on the table itself.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class WriteBehind(MutableMapping[str, Any]):
    """``table`` seen through writes not yet flushed (``flush`` sends them, in order)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.held: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self.held.get(key, self)
        if value is self:
            return self.table[key]
        if value is _DELETED:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        value = self.held.get(key, self)  # type: ignore[call-overload]
        return key in self.table if value is self else value is not _DELETED

    def __setitem__(self, key: str, value: Any) -> None:
        self.held[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.held[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        for key in list(self.table):
            if self.held.get(key) is not _DELETED:
                yield key
        for key, value in list(self.held.items()):
            if value is not _DELETED and key not in self.table:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write the held changes to the table; returns how many keys changed."""
        changed = len(self.held)
        for key, value in self.held.items():
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        self.held.clear()
        return changed
