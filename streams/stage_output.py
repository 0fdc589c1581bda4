"""The records a batch stage produces (``streams.batch_stage``), encoded fast, and an input
the stage cannot turn into a valid output dead-lettered with its place (topic, partition,
offset) instead of failing the batch.

An output is a plain dict built from a record the stage decoded (so checked against its
contract) and the stage's own typed results; orjson encodes it (about 1 µs, against 15–25
µs for validating and encoding it with pydantic; issue 11). The JSON has the shape of the
topic's type (``streams.records``), field for field and in the same order; orjson writes
non-ASCII text as UTF-8 where pydantic wrote ``\\u`` escapes, the same JSON strings. A value
orjson cannot encode goes through the contract's validating encoder, whose error names the
field; consumers validate every record as always.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import TopicPartition

from streams.batch_stage import Output, StageRecord
from streams.contract_topic import RawRecord, encode_value, reject
from streams.records import Contract, DeadLetter

_NUMPY = orjson.OPT_SERIALIZE_NUMPY  # model scores may be numpy floats


class StageOutputs:
    """Encodes a stage's outputs for ``topic`` (of ``value_type``); inputs of
    ``input_type`` whose output breaks the contract go to ``dead_letters``."""

    def __init__(self, topic: str, value_type: type[Contract], input_type: type[Contract],
                 dead_letters: str) -> None:
        self.topic, self.value_type = topic, value_type
        self.input_type, self.dead_letters = input_type, dead_letters

    def output(self, tp: TopicPartition, record: StageRecord, value: Any) -> Output:
        """``value`` (a dict of the output's fields) as ``record``'s output (same key), or
        ``record``'s dead letter."""
        try:
            return Output(self.topic, record.key, orjson.dumps(value, option=_NUMPY))
        except TypeError:  # not plain JSON data: the contract's encoder says what is wrong
            pass
        try:
            return Output(self.topic, record.key, encode_value(self.value_type, value))
        except Exception as exc:  # one odd record must not stop the stage
            return self.dead_letter(tp, record, f"output: {exc!r}")

    def dead_letter(self, tp: TopicPartition, record: StageRecord, error: str) -> Output:
        """Count and log ``record`` as rejected; its dead letter (the input re-encoded)."""
        raw = RawRecord(tp.topic, tp.partition, record.offset, record.timestamp_ms,
                        None if record.key is None else record.key.encode(),
                        encode_value(self.input_type, record.value))
        letter = reject(raw, "invalid_value", error)
        return Output(self.dead_letters, tp.topic, encode_value(DeadLetter, letter))
