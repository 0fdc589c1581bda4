"""The desk's state read back from a real changelog: committed transactions only, to the end
(past the last transaction marker), and a bad record skipped."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.alerts.desk_state import DeskState, read_changelog

from .conftest import KAFKA_OPTIONS

pytestmark = pytest.mark.kafka


async def test_only_committed_state_comes_back(namespace: str) -> None:
    topic = f"{namespace}.desk-state"
    admin = AIOKafkaAdminClient(**KAFKA_OPTIONS)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={
        "cleanup.policy": "compact"})])
    await admin.close()
    written = DeskState()
    written.stores["stories"]["story:a"] = {"sources": 3}
    written.stores["alerted"]["pair:r:a"] = {"state": "alerted"}
    producer = AIOKafkaProducer(**KAFKA_OPTIONS, transactional_id=f"{namespace}-test")
    await producer.start()
    try:
        async with producer.transaction():
            for key, value in written.changes():
                await producer.send(topic, value, key=key.encode())
            await producer.send(topic, b"not json", key=b"stories:broken")
        with pytest.raises(RuntimeError):
            async with producer.transaction():  # a batch whose worker died: aborted
                await producer.send(topic, b'{"value": 1}', key=b"stories:aborted")
                await producer.flush()
                raise RuntimeError("killed")
        async with producer.transaction():
            await producer.send(topic, None, key=b"alerted:pair:r:a")
    finally:
        await producer.stop()

    state = DeskState()
    read = await read_changelog(topic, KAFKA_OPTIONS, state)
    assert read == 4  # the aborted record is never read
    assert state.stores["stories"].data == {"story:a": {"sources": 3}}
    assert state.stores["alerted"].data == {}
