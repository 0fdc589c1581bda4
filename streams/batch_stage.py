"""A batch stage: one topic consumed in batches by its own aiokafka clients, off Faust's
per-record path (one event at a time, one changelog record at a time: issue 11's cost).

``BatchStage`` consumes its topic in a group of its own (``<app id>.<name>``),
``read_committed``, without auto-commit, up to ``max_records`` per poll. Each record is
decoded once (UTF-8 key, the topic's contract type, or with ``as_dicts`` the same check
into plain dicts); one that breaks the contract becomes
a dead letter naming topic, partition and offset (``streams.contract_topic``). The handler
gets one partition's decoded records in offset order and returns the ``Output``s to produce:

- at-least-once (default): outputs and dead letters are produced and acknowledged, then the
  input offsets committed. A crash in between handles the batch again.
- ``transactional=True``: outputs, dead letters and input offsets are one transaction
  (``send_offsets_to_transaction``) of a producer whose transactional id belongs to the
  input partition. The next owner of a partition starts that producer first: Kafka fences
  the previous owner and ends its open transaction; only then is the committed offset read
  and ``on_assign`` run. Readers of the outputs must use ``read_committed``.

A partition the group never committed starts at ``start_from_group``'s offset (the Faust
agent a stage replaces) if given, else at its beginning. ``on_assign(tp)`` runs before any
record of a newly assigned partition is handled (a stateful stage loads its state there),
``on_revoke(tp)`` after its last batch. With ``idle=True`` the handler is also called with
no records when a poll returns nothing (held work needs no timer). A failed batch (handler
error, broker error, fenced producer) is rewound: the partition is closed and opened again
from its committed offset after a pause, so no state survives that was not committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.contract_topic import (
    ContractViolation,
    KeyViolation,
    RawRecord,
    decode_key,
    decode_value,
    encode_value,
    reject,
)
from streams.logs import log_event
from streams.records import Contract, DeadLetter
from streams.stage_offsets import export_lag, first_offset, forget_lag

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0  # seconds the clients get to leave the group and flush on stop
RETRY_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before reopening a failed partition


class StageRecord(NamedTuple):
    """One decoded input record."""

    key: str | None
    value: Any  # the topic's contract type (``as_dicts``: its fields as plain dicts)
    offset: int
    timestamp_ms: int | None


class Output(NamedTuple):
    """A record to produce; ``value`` None is a tombstone. ``partition`` None: by key, as
    Kafka's default partitioner does (give it for a one-partition topic: no hashing)."""

    topic: str
    key: str | None
    value: bytes | None
    partition: int | None = None


Handler = Callable[[TopicPartition, list[StageRecord]], Awaitable[Sequence[Output]]]
PartitionHook = Callable[[TopicPartition], Awaitable[None]]


async def _nothing(_: TopicPartition) -> None:
    """No partition hook."""


class _Listener(ConsumerRebalanceListener):
    def __init__(self, stage: BatchStage) -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.stage.close_partitions(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.stage.open_partitions(assigned)


class BatchStage:
    """Consume ``topic`` (records of ``value_type``) in batches through ``handler``."""

    def __init__(self, name: str, topic: str, value_type: type[Contract], handler: Handler, *,
                 app_id: str, client_options: dict[str, Any], dead_letters: str | None = None,
                 transactional: bool = False, on_assign: PartitionHook = _nothing,
                 on_revoke: PartitionHook = _nothing, idle: bool = False,
                 max_records: int = 1000, wait_ms: int = 100, linger_ms: int = 5,
                 start_from_group: str | None = None, idempotent: bool = True,
                 as_dicts: bool = False) -> None:
        self.name, self.topic, self.value_type, self.handler = name, topic, value_type, handler
        self.as_dicts = as_dicts  # values checked against value_type, handed over as dicts
        self.group_id = f"{app_id}.{name}"
        self.client_options = client_options
        self.dead_letters = dead_letters
        self.transactional = transactional
        self.on_assign, self.on_revoke, self.idle = on_assign, on_revoke, idle
        self.max_records, self.wait_ms, self.linger_ms = max_records, wait_ms, linger_ms
        self.start_from_group = start_from_group
        self.idempotent = idempotent or transactional  # off: brokers without InitProducerId
        self.consumer: AIOKafkaConsumer | None = None
        self._shared: AIOKafkaProducer | None = None  # at-least-once: one producer
        self._producers: dict[TopicPartition, AIOKafkaProducer] = {}  # transactional
        self._next: dict[TopicPartition, int] = {}  # open partition -> next offset to handle
        self._failed: dict[TopicPartition, tuple[float, int]] = {}  # tp -> (retry at, tries)
        self._lock = asyncio.Lock()  # a batch, or a rebalance step: never both at once
        self._epoch = 0  # bumped by every rebalance step: a batch polled before is dropped
        self._stopping = False

    def _producer(self, **options: Any) -> AIOKafkaProducer:
        return AIOKafkaProducer(**self.client_options, acks="all",
                                enable_idempotence=self.idempotent,
                                linger_ms=self.linger_ms, max_batch_size=512 * 1024,
                                **options)

    async def run(self) -> None:
        """Consume until ``stop()`` or cancellation. A failure (a broker that cannot be
        reached at start, say) is logged and the stage starts again after a pause: it
        never takes the worker down."""
        tries = 0
        while not self._stopping:
            try:
                await self._serve()
            except Exception as exc:
                tries += 1
                pause = RETRY_PAUSES[min(tries, len(RETRY_PAUSES)) - 1]
                log_event(log, logging.ERROR, "stage_failed", exc_info=True, stage=self.name,
                          topic=self.topic, retry_in=pause, error=repr(exc))
                await asyncio.sleep(pause)

    async def _serve(self) -> None:
        self.consumer = AIOKafkaConsumer(
            **self.client_options, group_id=self.group_id, enable_auto_commit=False,
            isolation_level="read_committed", auto_offset_reset="earliest",
            max_poll_records=self.max_records, metadata_max_age_ms=5_000,
        )
        self._shared = None
        try:
            if not self.transactional:
                self._shared = self._producer()
                await self._shared.start()
            await self.consumer.start()
            self.consumer.subscribe([self.topic], listener=_Listener(self))
            log_event(log, logging.INFO, "stage_started", stage=self.name, topic=self.topic,
                      group=self.group_id, transactional=self.transactional)
            while not self._stopping:
                try:
                    await self._poll()
                except Exception as exc:  # the consumer's own errors: say so, go on
                    log_event(log, logging.ERROR, "stage_poll_failed", exc_info=True,
                              stage=self.name, topic=self.topic, error=repr(exc))
                    await asyncio.sleep(RETRY_PAUSES[0])
        finally:
            await asyncio.shield(self._close())

    def stop(self) -> None:
        """Finish the batch in hand, then leave the group and close the clients."""
        self._stopping = True

    async def _close(self) -> None:
        async with self._lock:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self._close_all(list(self._next))
                    for client in (self.consumer, self._shared):
                        if client is not None:
                            await client.stop()
            except Exception as exc:  # stopping anyway: say why it was not clean
                log_event(log, logging.WARNING, "stage_close_failed", stage=self.name,
                          error=repr(exc))
        log_event(log, logging.INFO, "stage_stopped", stage=self.name)

    async def _poll(self) -> None:
        assert self.consumer is not None
        await self._retry_failed()
        batches = await self.consumer.getmany(timeout_ms=self.wait_ms,
                                              max_records=self.max_records)
        epoch = self._epoch  # read at once: positions and records agree at this point
        async with self._lock:
            if epoch != self._epoch:  # a rebalance step ran meanwhile and set the positions
                return
            if not batches and self.idle:
                batches = {tp: [] for tp in self._next}
            for tp, records in batches.items():
                if tp in self._next:  # never an offset this owner has handled already
                    if records and records[0].offset < self._next[tp]:
                        records = [r for r in records if r.offset >= self._next[tp]]
                        if not records:
                            continue
                    await self._handle(tp, records)

    async def _handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        try:
            good, outputs = self._decode(records)
            if good or not records:
                outputs += await self.handler(tp, good)
            await self._produce(tp, outputs, records[-1].offset + 1 if records else None)
        except Exception as exc:
            log_event(log, logging.ERROR, "stage_batch_failed", exc_info=True,
                      stage=self.name, topic=tp.topic, partition=tp.partition,
                      offsets=f"{records[0].offset}-{records[-1].offset}" if records else None,
                      error=repr(exc))
            await self._close_all([tp])
            self._failed[tp] = (time.monotonic() + RETRY_PAUSES[0], 1)
            return
        if records:
            self._next[tp] = records[-1].offset + 1
            export_lag(self.consumer, tp, records[-1].offset + 1)

    def _decode(self, records: list[ConsumerRecord]) -> tuple[list[StageRecord], list[Output]]:
        """The records that keep the contract, and the dead letters of those that do not."""
        good: list[StageRecord] = []
        letters: list[Output] = []
        for r in records:
            try:
                value = decode_value(self.value_type, r.value, as_dicts=self.as_dicts)
                good.append(StageRecord(decode_key(r.key), value, r.offset, r.timestamp))
            except (ContractViolation, KeyViolation) as exc:
                raw = RawRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value)
                letter = reject(raw, exc.reason, exc.error)
                if self.dead_letters is not None:
                    letters.append(Output(self.dead_letters, r.topic,
                                          encode_value(DeadLetter, letter)))
        return good, letters

    async def _produce(self, tp: TopicPartition, outputs: Sequence[Output],
                       next_offset: int | None) -> None:
        if not outputs and next_offset is None:
            return
        offsets = {tp: next_offset} if next_offset is not None else {}
        if self.transactional:
            producer = self._producers[tp]
            async with producer.transaction():
                for out in outputs:
                    await producer.send(out.topic, out.value, key=_key(out.key),
                                        partition=out.partition)
                if offsets:
                    await producer.send_offsets_to_transaction(offsets, self.group_id)
            return
        assert self._shared is not None and self.consumer is not None
        sent = [await self._shared.send(out.topic, out.value, key=_key(out.key),
                                        partition=out.partition) for out in outputs]
        await asyncio.gather(*sent)
        if offsets:
            await self.consumer.commit(offsets)

    async def open_partitions(self, partitions: Iterable[TopicPartition]) -> None:
        """Take partitions over: fence their previous owner (transactional), seek to the
        committed offset, ``on_assign``. A partition that fails to open is retried."""
        async with self._lock:
            self._epoch += 1
            for tp in sorted(partitions):
                await self._open_one(tp)

    async def _open_one(self, tp: TopicPartition) -> None:
        assert self.consumer is not None
        started = time.monotonic()
        try:
            if self.transactional:
                producer = self._producer(
                    transactional_id=f"{self.group_id}.{tp.topic}.{tp.partition}")
                self._producers[tp] = producer
                await producer.start()  # InitProducerId: the previous owner is fenced here
            committed = await self.consumer.committed(tp)
            if committed is None:
                committed = await first_offset(self.consumer, tp, self.client_options,
                                               self.start_from_group)
            self.consumer.seek(tp, committed)  # set here, whatever aiokafka fetched before
            await self.on_assign(tp)
        except Exception as exc:
            tries = self._failed.get(tp, (0.0, 0))[1] + 1
            pause = RETRY_PAUSES[min(tries, len(RETRY_PAUSES)) - 1]
            log_event(log, logging.ERROR, "stage_partition_open_failed", exc_info=True,
                      stage=self.name, topic=tp.topic, partition=tp.partition, retry_in=pause,
                      error=repr(exc))
            await self._stop_producer(tp)
            self.consumer.pause(tp)
            self._failed[tp] = (time.monotonic() + pause, tries)
            return
        self._failed.pop(tp, None)
        self.consumer.resume(tp)
        self._next[tp] = committed
        log_event(log, logging.INFO, "stage_partition_assigned", stage=self.name,
                  topic=tp.topic, partition=tp.partition, offset=committed,
                  seconds=round(time.monotonic() - started, 3))

    async def _retry_failed(self) -> None:
        assert self.consumer is not None
        due = [tp for tp, (at, _) in self._failed.items() if at <= time.monotonic()]
        if not due:
            return
        async with self._lock:
            assigned = self.consumer.assignment()
            for tp in due:
                if tp in assigned:
                    await self._open_one(tp)
                else:
                    self._failed.pop(tp, None)

    async def close_partitions(self, partitions: Iterable[TopicPartition]) -> None:
        """Give partitions up after the batch in hand: ``on_revoke``, producers closed."""
        async with self._lock:
            self._epoch += 1
            self._failed.clear()
            await self._close_all(list(partitions))

    async def _close_all(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if self.consumer is not None and tp in self.consumer.assignment():
                self.consumer.pause(tp)  # nothing of it is handled until it is open again
            if self._next.pop(tp, None) is None:
                continue
            try:
                await self.on_revoke(tp)
            finally:
                await self._stop_producer(tp)
                forget_lag(tp)
            log_event(log, logging.INFO, "stage_partition_revoked", stage=self.name,
                      topic=tp.topic, partition=tp.partition)

    async def _stop_producer(self, tp: TopicPartition) -> None:
        producer = self._producers.pop(tp, None)
        if producer is not None:
            try:
                await producer.stop()
            except Exception as exc:  # a fenced or disconnected producer: it is gone anyway
                log_event(log, logging.WARNING, "stage_producer_stop_failed", stage=self.name,
                          topic=tp.topic, partition=tp.partition, error=repr(exc))


def _key(key: str | None) -> bytes | None:
    return None if key is None else key.encode("utf-8")
