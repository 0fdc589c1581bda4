"""The story desk's state: three stores in memory, changelogged to one compacted topic.

``stories`` (``stories.py``), ``alerted`` (``desk.py``) and ``surges`` (``surge.py``) are
plain dicts behind the ``MutableMapping`` the desk logic uses. Each write marks its key;
``changes()`` turns the keys a batch changed into one changelog record each
(``<store>:<key>`` -> ``{"value": JSON}``, a tombstone for a deleted key), which the desk
writes in the same transaction as the batch's alerts and input offsets. A flood rewrites
the same story record on every copy; the changelog gets it once per batch.

``read_changelog`` rebuilds the stores from ``wirewatch.desk-state``, read to its end with
``read_committed``, when the desk's partition is assigned: only state whose transaction
committed (with its alerts and offsets) comes back. A record that cannot be read is
logged with its offset and skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.logs import log_event

log = logging.getLogger(__name__)

STORES = ("stories", "alerted", "surges")
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


class Store(MutableMapping[str, Any]):
    """A dict that marks every key written or deleted in ``changed`` (shared per desk)."""

    def __init__(self, name: str, changed: dict[tuple[str, str], None]) -> None:
        self.name = name
        self.data: dict[str, Any] = {}
        self.changed = changed

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:  # the desk's hottest call
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.changed[self.name, key] = None

    def __delitem__(self, key: str) -> None:
        del self.data[key]
        self.changed[self.name, key] = None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.data))  # the desk deletes while it iterates (pruning)

    def __len__(self) -> int:
        return len(self.data)


class DeskState:
    """The desk's three stores and the keys changed since the last ``changes()``."""

    def __init__(self) -> None:
        self.changed: dict[tuple[str, str], None] = {}  # ordered: records go out in order
        self.stores = {name: Store(name, self.changed) for name in STORES}

    def changes(self) -> list[tuple[str, bytes | None]]:
        """One (changelog key, value bytes or None) per key changed since the last call."""
        records = []
        for name, key in self.changed:
            value = self.stores[name].data.get(key, _DELETED)
            records.append((f"{name}:{key}", None if value is _DELETED
                            else _ENCODE.encode({"value": value}).encode()))
        self.changed.clear()
        return records

    def apply(self, key: str, raw: bytes | None) -> None:
        """Apply one changelog record (no mark: it is already on the changelog)."""
        name, _, inner = key.partition(":")
        data = self.stores[name].data  # KeyError: not a store of this desk
        if raw is None:
            data.pop(inner, None)
        else:
            data[inner] = json.loads(raw)["value"]

    def size(self) -> int:
        return sum(len(store) for store in self.stores.values())


_DELETED = object()


async def read_changelog(topic: str, client_options: dict[str, Any], state: DeskState) -> int:
    """Apply ``topic`` (one partition) to ``state`` from its beginning to its last committed
    record; the number of records read."""
    partition = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**client_options, group_id=None, enable_auto_commit=False,
                                isolation_level="read_committed", auto_offset_reset="earliest",
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    read = 0
    try:
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]  # read_committed: the LSO
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1000, max_records=10_000)
            for record in batch.get(partition, ()):
                read += 1
                try:
                    state.apply(record.key.decode("utf-8"), record.value)
                except Exception as exc:  # one bad record costs its key, never the desk
                    log_event(log, logging.ERROR, "desk_state_record_invalid", topic=topic,
                              partition=0, offset=record.offset, error=repr(exc))
    finally:
        await consumer.stop()
    return read
