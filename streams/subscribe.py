"""Reading Wirewatch topics from the command line (``wirewatch headlines``, ``alerts``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer

from streams.app import settings
from streams.contract_topic import ContractViolation, decode_value
from streams.logs import log_event
from streams.records import Contract

log = logging.getLogger(__name__)


async def subscribe(
    topics: Mapping[str, type[Contract]], *, from_beginning: bool = False,
    client_options: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[str, Contract]]:
    """Yield ``(topic, record)`` for each message of ``topics`` (name -> record type),
    without joining a consumer group.

    ``from_beginning`` replays what the topics retain; otherwise only new messages.
    A message that is not a record of its topic's type is logged (with its partition,
    offset and reason) and skipped. ``client_options`` (brokers, TLS, SASL) default to
    the settings'.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        **(client_options or settings.kafka_client_options),
        group_id=None,
        enable_auto_commit=False,
        # The desk writes alerts in transactions: an aborted one's alerts stay hidden.
        isolation_level="read_committed",
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        async for msg in consumer:
            try:
                record = decode_value(topics[msg.topic], msg.value)
            except ContractViolation as exc:
                log_event(log, logging.WARNING, "skipped_message", topic=msg.topic,
                          partition=msg.partition, offset=msg.offset, reason=exc.reason,
                          error=exc.error)
                continue
            yield msg.topic, record
    finally:
        await consumer.stop()
