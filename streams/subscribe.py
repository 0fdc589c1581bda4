"""Reading Wirewatch topics from the command line (``wirewatch headlines``, ``alerts``)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from streams.app import settings
from streams.logs import log_event

log = logging.getLogger(__name__)


async def subscribe(
    topics: Sequence[str], *, from_beginning: bool = False,
    client_options: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Yield ``(topic, value)`` for each JSON message, without joining a consumer group.

    ``from_beginning`` replays what the topics retain; otherwise only new messages.
    ``client_options`` (brokers, TLS, SASL) default to the settings'.
    A message that is not a JSON object is logged and skipped.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        **(client_options or settings.kafka_client_options),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        async for msg in consumer:
            try:
                value = json.loads(msg.value or b"")
                if not isinstance(value, dict):
                    raise ValueError(f"JSON {type(value).__name__}, not an object")
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
                log_event(log, logging.WARNING, "skipped_message", topic=msg.topic,
                          partition=msg.partition, offset=msg.offset, error=str(exc))
                continue
            yield msg.topic, value
    finally:
        await consumer.stop()
