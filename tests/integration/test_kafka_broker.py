"""The aiokafka client against the real broker from deploy/kafka/local.sh.

Start the broker first (``deploy/kafka/local.sh start``) and point ``WIREWATCH_BROKER``
at it if it is not on the default ``kafka://127.0.0.1:9092``.
"""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from .conftest import KAFKA_OPTIONS

pytestmark = pytest.mark.kafka

PARTITIONS = 3
MESSAGES = 30


@pytest.fixture
async def admin(kafka_bootstrap):
    client = AIOKafkaAdminClient(**KAFKA_OPTIONS)
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def topic(admin):
    name = f"wirewatch-test-{uuid.uuid4().hex[:8]}"
    await admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    yield name
    await admin.delete_topics([name])


async def test_topic_is_created_with_requested_partitions(admin, topic):
    described = await admin.describe_topics([topic])
    assert [len(t["partitions"]) for t in described] == [PARTITIONS]


async def test_compacted_topic_keeps_its_cleanup_policy(admin):
    name = f"wirewatch-compact-{uuid.uuid4().hex[:8]}"
    await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    try:
        configs: dict = {}
        for _ in range(50):  # a new topic's configs can take a moment to be served
            [response] = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name)])
            configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
            if configs:
                break
            await asyncio.sleep(0.2)
        assert configs["cleanup.policy"] == "compact"
    finally:
        await admin.delete_topics([name])


async def test_keyed_messages_round_trip_through_a_consumer_group(topic):
    sent = {f"key-{i % 7}:{i}".encode(): f"value-{i}".encode() for i in range(MESSAGES)}
    producer = AIOKafkaProducer(**KAFKA_OPTIONS, acks="all")
    await producer.start()
    try:
        partitions_used = set()
        for key, value in sent.items():
            meta = await producer.send_and_wait(topic, value, key=key)
            partitions_used.add(meta.partition)
    finally:
        await producer.stop()
    assert len(partitions_used) > 1, "keys should spread over the partitions"

    group = f"wirewatch-group-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        topic,
        **KAFKA_OPTIONS,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: dict[bytes, bytes] = {}
    try:
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"timed out with {len(received)}/{len(sent)} messages"
            for records in batches.values():
                received.update((r.key, r.value) for r in records)
        await consumer.commit()
        committed = {
            p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)
        }
    finally:
        await consumer.stop()

    assert received == sent
    assert sum(offset or 0 for offset in committed.values()) == len(sent)
