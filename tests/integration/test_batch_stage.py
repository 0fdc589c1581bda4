"""``streams.batch_stage.BatchStage`` on the real broker: batches, dead letters, committed
offsets, transactions (an aborted batch is invisible to read_committed readers and handled
again), the partition hooks, idle calls, and a second member taking partitions over."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.batch_stage import BatchStage, Output, StageRecord
from streams.records import PollTick

from .conftest import KAFKA_OPTIONS

pytestmark = pytest.mark.kafka


async def make_topics(namespace: str, partitions: int) -> tuple[str, str, str]:
    names = tuple(f"{namespace}.{n}" for n in ("in", "out", "dead"))
    admin = AIOKafkaAdminClient(**KAFKA_OPTIONS)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(names[0], partitions, 1),
                                   NewTopic(names[1], 1, 1), NewTopic(names[2], 1, 1)])
    finally:
        await admin.close()
    return names  # type: ignore[return-value]


async def produce(topic: str, records: list[tuple[int, bytes, bytes]]) -> None:
    """(partition, key, value) records, in order."""
    producer = AIOKafkaProducer(**KAFKA_OPTIONS, linger_ms=5)
    await producer.start()
    try:
        for partition, key, value in records:
            await producer.send(topic, value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


def tick(n: int) -> bytes:
    return json.dumps({"feed": f"feed-{n}", "sent_at": float(n)}).encode()


async def read_all(topic: str, isolation_level: str, settle: float = 3.0) -> list:
    """Every record of ``topic`` until ``settle`` seconds pass without one."""
    consumer = AIOKafkaConsumer(topic, **KAFKA_OPTIONS, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level=isolation_level)
    await consumer.start()
    records = []
    try:
        while batch := await consumer.getmany(timeout_ms=int(settle * 1000)):
            for part in batch.values():
                records += part
    finally:
        await consumer.stop()
    return records


async def committed(group: str, topic: str, partitions: int) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(**KAFKA_OPTIONS, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def running(stage: BatchStage) -> AsyncIterator[asyncio.Task]:
    task = asyncio.create_task(stage.run())
    try:
        yield task
    finally:
        stage.stop()
        await asyncio.wait_for(task, 30)


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_batches_dead_letters_and_committed_offsets(namespace: str) -> None:
    source, out, dead = await make_topics(namespace, 2)
    good = [(n % 2, f"k{n}".encode(), tick(n)) for n in range(200)]
    poison = [(1, b"p1", b"[1, 2]"), (0, b"\xff\xfe", tick(999)), (1, b"p2", b"{not json")]
    await produce(source, good[:100] + poison + good[100:])
    batches: list[int] = []

    async def handler(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
        batches.append(len(records))
        assert [r.offset for r in records] == sorted(r.offset for r in records)
        return [Output(out, r.key, json.dumps({"feed": r.value.feed, "partition": tp.partition,
                                               "offset": r.offset}).encode())
                for r in records if isinstance(r.value, PollTick)]

    stage = BatchStage("double", source, PollTick, handler, app_id=namespace,
                       client_options=KAFKA_OPTIONS, dead_letters=dead, max_records=50)
    async with running(stage):
        await until(lambda: sum(batches) == 200, 60, "every good record handled")
    outputs = await read_all(out, "read_committed")
    assert sorted(json.loads(r.value)["feed"] for r in outputs) == sorted(
        f"feed-{n}" for n in range(200))
    assert max(batches) <= 50 and len(batches) < 200  # batches, not records one by one
    letters = [json.loads(r.value) for r in await read_all(dead, "read_committed")]
    assert sorted((x["partition"], x["reason"]) for x in letters) == [
        (0, "bad_key"), (1, "not_json"), (1, "not_object")]
    assert all(x["topic"] == source and x["offset"] >= 50 for x in letters)
    # The stage committed past everything it consumed, poison included.
    assert await committed(f"{namespace}.double", source, 2) == {0: 101, 1: 102}


async def test_a_failed_transaction_is_aborted_rewound_and_handled_exactly_once(
        namespace: str) -> None:
    source, out, dead = await make_topics(namespace, 1)
    await produce(source, [(0, f"k{n}".encode(), tick(n)) for n in range(30)])
    events: list[str] = []
    state: dict[str, int] = {}  # what a stateful stage would load on assign
    idle = asyncio.Event()

    async def handler(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
        if not records:
            idle.set()
            return []
        outputs = [Output(out, r.key, tick(state.setdefault("n", 0) + i))
                   for i, r in enumerate(records)]
        state["n"] += len(records)
        if "failed" not in events:  # the first batch fails after its outputs were sent
            events.append("failed")
            return [*outputs, Output(out, "huge", b"x" * 2_000_000)]  # over max_request_size
        return outputs

    async def on_assign(tp: TopicPartition) -> None:
        events.append(f"assign {tp.partition}")
        state.clear()

    async def on_revoke(tp: TopicPartition) -> None:
        events.append(f"revoke {tp.partition}")

    stage = BatchStage("txn", source, PollTick, handler, app_id=namespace,
                       client_options=KAFKA_OPTIONS, dead_letters=dead, transactional=True,
                       on_assign=on_assign, on_revoke=on_revoke, idle=True)
    async with running(stage):
        await asyncio.wait_for(idle.wait(), 60)
    committed_outputs = await read_all(out, "read_committed")
    # Exactly once: each input's output once, numbered as if the failed batch never ran.
    assert sorted(json.loads(r.value)["feed"] for r in committed_outputs) == sorted(
        f"feed-{n}" for n in range(30))
    assert Counter(r.key for r in committed_outputs) == {f"k{n}".encode(): 1 for n in range(30)}
    # The aborted batch did reach the log: a read_uncommitted reader sees it.
    assert len(await read_all(out, "read_uncommitted")) > len(committed_outputs)
    assert events[:4] == ["assign 0", "failed", "revoke 0", "assign 0"]
    assert events[-1] == "revoke 0"  # on stop
    assert await committed(f"{namespace}.txn", source, 1) == {0: 30}


async def test_a_second_member_takes_partitions_over_without_doubling_outputs(
        namespace: str) -> None:
    source, out, dead = await make_topics(namespace, 4)
    handled: Counter[str] = Counter()

    def member() -> BatchStage:
        async def handler(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
            handled.update(r.key for r in records)
            await asyncio.sleep(0.05)  # slow enough for the rebalance to land mid-stream
            return [Output(out, r.key, tick(r.offset)) for r in records]

        return BatchStage("pair", source, PollTick, handler, app_id=namespace,
                          client_options=KAFKA_OPTIONS, dead_letters=dead, transactional=True,
                          max_records=20)

    inputs = [(n % 4, f"k{n}".encode(), tick(n)) for n in range(2000)]
    first, second = member(), member()
    async with running(first):
        await produce(source, inputs[:1000])
        await until(lambda: len(handled) > 100, 60, "the first member at work")
        async with running(second):
            await produce(source, inputs[1000:])
            await until(lambda: len(handled) == 2000, 120, "every input handled")
            assert second._next, "the second member never got a partition"
    outputs = await read_all(out, "read_committed")
    assert Counter(r.key for r in outputs) == {key: 1 for _, key, _ in inputs}
    assert await committed(f"{namespace}.pair", source, 4) == {p: 500 for p in range(4)}


async def test_a_new_stage_starts_where_the_group_it_replaces_had_got_to(
        namespace: str) -> None:
    source, *_ = await make_topics(namespace, 1)
    await produce(source, [(0, f"k{n}".encode(), tick(n)) for n in range(20)])
    old = AIOKafkaConsumer(**KAFKA_OPTIONS, group_id=f"{namespace}-faust",
                           enable_auto_commit=False)
    await old.start()
    old.assign([TopicPartition(source, 0)])
    await old.commit({TopicPartition(source, 0): 15})  # the Faust agent had handled 0-14
    await old.stop()
    seen: list[int] = []

    async def handler(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
        seen.extend(r.offset for r in records)
        return []

    stage = BatchStage("upgraded", source, PollTick, handler, app_id=namespace,
                       client_options=KAFKA_OPTIONS, start_from_group=f"{namespace}-faust")
    async with running(stage):
        await until(lambda: 19 in seen, 60, "the last record")
    assert seen == [15, 16, 17, 18, 19]
