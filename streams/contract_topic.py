"""Topics that hold to their contract: typed records out, poison records to ``wirewatch.dead``.

Each of Wirewatch's topics has one type (``streams.records``). ``ContractSchema`` turns
the bytes of a consumed record into that type in one pass (pydantic-core parses and
checks the JSON together), and checks every record a producer sends before pydantic-core
encodes it. The bytes are those Faust's JSON codec wrote before the types (compact, ASCII
with ``\\u`` escapes), except that numbers below 1e-4 are written in plain decimal
(``0.00001`` for ``1e-05``: the same JSON number).

A consumed record that breaks the contract never reaches the agent, so no agent needs
to guard against odd shapes. Faust hands the failure to the topic, and
``ContractTopic`` sends a ``DeadLetter`` to ``wirewatch.dead`` (the source topic,
partition, offset, reason, error and original bytes), counts it in
``wirewatch_dead_letters_total{topic,reason}``, logs it, and lets the stream go on: Faust
has acked the record, so its offset is committed like any other.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import faust
from faust.exceptions import KeyDecodeError, ValueDecodeError
from faust.types import AppT, Message
from pydantic import BaseModel, ValidationError

from streams import metrics
from streams.contract_dicts import dict_decoder
from streams.logs import log_event
from streams.records import Contract, DeadLetter

log = logging.getLogger(__name__)

MAX_DEAD_VALUE_BYTES = 256 * 1024  # base64 of this stays far below Kafka's 1 MB default
MAX_ERROR_CHARS = 1000
MAX_ERRORS_LISTED = 5


class ContractViolation(ValueDecodeError):
    """A record value that does not fit its topic's type; ``reason`` is a metric label."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error


class KeyViolation(KeyDecodeError):
    """A record key that is not UTF-8 text."""

    reason = "bad_key"

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def violation(exc: ValidationError, raw: bytes) -> ContractViolation:
    """The reason and a bounded, readable error for a record ``raw`` that failed validation.

    The error names fields and problems, never the record's values (they may hold secrets).
    """
    errors = exc.errors(include_url=False, include_input=False)
    kind, loc = errors[0]["type"], errors[0]["loc"]
    if kind == "json_invalid":
        try:
            raw.decode("utf-8")
            reason = "not_json"
        except UnicodeDecodeError:
            reason = "not_utf8"
    elif not loc:
        reason = "not_object"
    elif kind == "missing":
        reason = "missing_field"
    elif kind.endswith("_type"):
        reason = "wrong_type"
    else:
        reason = "invalid_value"
    text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                     for e in errors[:MAX_ERRORS_LISTED])
    if len(errors) > MAX_ERRORS_LISTED:
        text += f"; and {len(errors) - MAX_ERRORS_LISTED} more"
    return ContractViolation(reason, text[:MAX_ERROR_CHARS])


def decode_value(value_type: type[Contract], raw: bytes | None, *,
                 as_dicts: bool = False) -> Any:
    """``raw`` as ``value_type`` (``as_dicts``: the same check, into plain dicts:
    ``streams.contract_dicts``); ContractViolation if it is not one."""
    if raw is None:
        raise ContractViolation("empty", "the record has no value")
    try:
        if as_dicts:
            return dict_decoder(value_type).validate_json(raw)
        return value_type.model_validate_json(raw)
    except ValidationError as exc:
        raise violation(exc, raw) from None


def decode_key(raw: bytes | None) -> str | None:
    """A record key as text; KeyViolation if it is not UTF-8."""
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyViolation(f"key: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def encode_value(value_type: type[Contract], value: Contract | Mapping[str, Any]) -> bytes:
    """The JSON bytes of ``value``, checked against ``value_type`` (dicts and other
    contract types are validated; pydantic's error names the field that is wrong)."""
    if not isinstance(value, value_type):
        raw = value.model_dump() if isinstance(value, BaseModel) else value
        value = value_type.model_validate(raw, strict=False)
    return value.model_dump_json(ensure_ascii=True).encode("ascii")


class ContractSchema(faust.Schema):
    """UTF-8 string keys and ``value_type`` values; violations go to ``dead_letters``."""

    def __init__(self, value_type: type[Contract],
                 dead_letters: ContractTopic | None = None) -> None:
        super().__init__(key_type=str, value_type=value_type)
        self.dead_letters = dead_letters

    def loads_key(self, app: AppT, message: Message, **_: Any) -> str | None:
        return decode_key(message.key)

    def loads_value(self, app: AppT, message: Message, **_: Any) -> Contract:
        return decode_value(self.value_type, message.value)

    def dumps_key(self, app: AppT, key: Any, *, headers: Any, **_: Any) -> tuple[Any, Any]:
        return (key.encode() if isinstance(key, str) else key), headers

    def dumps_value(self, app: AppT, value: Any, *, headers: Any, **_: Any) -> tuple[Any, Any]:
        return encode_value(self.value_type, value), headers


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


class RawRecord(NamedTuple):
    """A consumed record as it came off the wire (``timestamp_ms`` as Kafka gives it)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


def raw_record(message: Message) -> RawRecord:
    """A Faust ``Message`` (its timestamp in seconds) as a ``RawRecord``."""
    return RawRecord(message.topic, message.partition, message.offset,
                     int(message.timestamp * 1000) if message.timestamp else None,
                     message.key, message.value)


def dead_letter(record: RawRecord, reason: str, error: str) -> DeadLetter:
    """The dead letter of a consumed ``record`` that broke its topic's contract."""
    value = record.value
    truncated = value is not None and len(value) > MAX_DEAD_VALUE_BYTES
    return DeadLetter(
        topic=record.topic, partition=record.partition, offset=record.offset,
        timestamp_ms=record.timestamp_ms, reason=reason, error=error,
        key_base64=_b64(record.key),
        value_base64=_b64(value[:MAX_DEAD_VALUE_BYTES] if truncated else value),
        value_truncated=truncated, dead_at=datetime.now(UTC).isoformat(),
    )


def reject(record: RawRecord, reason: str, error: str) -> DeadLetter:
    """Count and log a consumed record that broke its topic's contract; its dead letter
    (the caller sends it to ``wirewatch.dead``)."""
    metrics.DEAD_LETTERS.labels(record.topic, reason).inc()
    log_event(log, logging.WARNING, "dead_letter", topic=record.topic,
              partition=record.partition, offset=record.offset, reason=reason, error=error)
    return dead_letter(record, reason, error)


class ContractTopic(faust.Topic):
    """A Faust topic with a ``ContractSchema``: records that break it become dead letters
    instead of crashing the agent (Faust's default re-raises them into the stream)."""

    async def on_key_decode_error(self, exc: Exception, message: Message) -> None:
        await self._reject(message, getattr(exc, "reason", "bad_key"), str(exc))

    async def on_value_decode_error(self, exc: Exception, message: Message) -> None:
        await self._reject(message, getattr(exc, "reason", "invalid_value"), str(exc))

    async def _reject(self, message: Message, reason: str, error: str) -> None:
        letter = reject(raw_record(message), reason, error)
        schema = self.schema
        target = schema.dead_letters if isinstance(schema, ContractSchema) else None
        if target is None:
            return
        try:
            await target.send(key=message.topic, value=letter)
        except Exception as exc:  # the count and the log line above still tell
            log_event(log, logging.ERROR, "dead_letter_not_sent", topic=message.topic,
                      partition=message.partition, offset=message.offset, error=repr(exc))
