"""Where a batch stage's partitions start, and how far behind they are (``batch_stage``)."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from streams import metrics

_exported: set[tuple[str, str]] = set()  # lag series the stages of this process set


async def first_offset(consumer: AIOKafkaConsumer, tp: TopicPartition,
                       client_options: dict[str, Any], start_from_group: str | None) -> int:
    """Where a partition its group never committed starts: ``start_from_group``'s committed
    offset (the Faust agent a stage replaced, so an upgrade neither skips nor repeats
    records), else the beginning."""
    if start_from_group is not None:
        admin = AIOKafkaAdminClient(**client_options)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(start_from_group,
                                                              partitions=[tp])
        finally:
            await admin.close()
        if tp in offsets and offsets[tp].offset >= 0:
            return offsets[tp].offset
    return (await consumer.beginning_offsets([tp]))[tp]


def export_lag(consumer: AIOKafkaConsumer | None, tp: TopicPartition, committed: int) -> None:
    """``wirewatch_consumer_lag_messages`` of ``tp``: high-water mark minus ``committed``."""
    highwater = consumer.highwater(tp) if consumer is not None else None
    if highwater is not None:
        metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(
            max(0, highwater - committed))
        _exported.add((tp.topic, str(tp.partition)))


def forget_lag(tp: TopicPartition) -> None:
    """Drop ``tp``'s lag series (the partition went to another worker)."""
    labels = (tp.topic, str(tp.partition))
    if labels in _exported:
        _exported.discard(labels)
        metrics.CONSUMER_LAG.remove(*labels)
