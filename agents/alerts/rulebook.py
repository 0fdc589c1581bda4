"""The live rule set: every worker reads the whole compacted ``wirewatch.rules`` topic.

Key = rule name, value = rule JSON, tombstone = delete. Like a Faust global
table, each worker keeps all of it; unlike a local file, a ``wirewatch rules
apply`` reaches every running worker within seconds. A record that does not
parse (garbage bytes, a list, JSON nested 100k deep, a key that is not a rule
name or not UTF-8) is logged as ``rule_rejected`` naming topic, partition,
offset and key, counted in ``wirewatch_rule_records_rejected_total``, and
skipped; the previous version of that rule stays in force. The topic is
compacted and re-read at every start, so a record that stopped the follower
would stop every worker at every start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.alerts.config_rules import report_worker_rules
from agents.alerts.config_section import RULE_NAME_PATTERN
from agents.alerts.matcher import Matcher
from agents.alerts.rules import Rule, printable_name, rule_from_json
from streams import metrics
from streams.app import app, settings
from streams.logs import log_event
from streams.topics import RULES, rules_topic

log = logging.getLogger(__name__)


class RuleRecord(NamedTuple):
    """One record of the rules topic; a key that is not UTF-8 keeps its bytes as surrogates."""

    key: str  # the rule name
    value: bytes | None  # rule JSON, None for a tombstone
    offset: int | None = None
    partition: int = 0


def decode_key(raw: bytes | None) -> str:
    """A record key as text; undecodable bytes survive as surrogates (``surrogateescape``)."""
    return raw.decode("utf-8", "surrogateescape") if raw else ""


def encode_key(key: str) -> bytes:
    """The record key bytes of ``key`` (the inverse of ``decode_key``)."""
    return key.encode("utf-8", "surrogateescape")


class RuleBook:
    """Current rules and their compiled matcher; ``ready`` once the topic is read to its end."""

    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.matcher = Matcher(())
        self.ready = asyncio.Event()

    def apply(self, records: Iterable[RuleRecord | tuple[str, bytes | None]],
              *, rebuild: bool = True) -> bool:
        """Apply (key, value) records in order; True when the rule set changed.

        The matcher is rebuilt once per call, not per record, and not at all with
        ``rebuild=False``: on start-up the topic arrives in batches, and the matcher (300 ms
        at 10,000 rules) is built once, by ``rebuild()``, when all of them are in.
        """
        changed = False
        for record in records:
            changed |= self._apply_one(RuleRecord(*record))
        if changed and rebuild:
            self.rebuild()
        return changed

    def rebuild(self) -> None:
        """Compile the matcher for the current rules."""
        self.matcher = Matcher(self.rules.values())

    def _apply_one(self, record: RuleRecord) -> bool:
        key, value = record.key, record.value
        if not RULE_NAME_PATTERN.fullmatch(key):
            _reject(record, "the record key is not a rule name (1-100 letters, digits, - _ .)")
            return False
        if value is None:
            if self.rules.pop(key, None) is None:
                return False
            log_event(log, logging.INFO, "rule_removed", rule=key)
            return True
        try:
            rule = rule_from_json(value, key=key)
        except Exception as exc:  # any record, however malformed, is skipped: never fatal
            _reject(record, str(exc))
            return False
        if self.rules.get(key) == rule:
            return False
        self.rules[key] = rule
        log_event(log, logging.INFO, "rule_updated", rule=key, severity=rule.severity)
        return True


def _reject(record: RuleRecord, error: str) -> None:
    metrics.RULE_RECORDS_REJECTED.inc()
    log_event(log, logging.ERROR, "rule_rejected", topic=RULES, partition=record.partition,
              offset=record.offset, key=printable_name(record.key), error=error)


rulebook = RuleBook()


async def read_rules_topic(
    on_batch: Callable[[list[RuleRecord]], object], *, follow: bool,
    on_caught_up: Callable[[], object] = lambda: None,
) -> None:
    """Feed ``on_batch`` the rules topic's records from the beginning. Without ``follow``,
    stop at the end offset seen at start (a missing topic is an empty one); with it, call
    ``on_caught_up`` once there and keep following for as long as the task runs."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_options, group_id=None,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )
    try:
        await consumer.start()  # inside: a broker that cannot be reached still stops it
        if not follow and RULES not in await consumer.topics():
            return
        partition = TopicPartition(RULES, 0)
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        caught_up = False
        while True:
            if not caught_up and await consumer.position(partition) >= end:
                caught_up = True
                on_caught_up()
                if not follow:
                    return
            records = (await consumer.getmany(partition, timeout_ms=1000)).get(partition, ())
            on_batch([RuleRecord(decode_key(r.key), r.value, r.offset, r.partition)
                      for r in records])
    finally:
        await consumer.stop()


@app.task
async def follow_rules() -> None:
    """Every worker: read ``wirewatch.rules`` from the beginning, then follow it."""
    await rules_topic.maybe_declare()

    config_path = str(settings.config_path)

    def loaded() -> None:
        rulebook.rebuild()
        rulebook.ready.set()
        log_event(log, logging.INFO if rulebook.rules else logging.WARNING, "rules_loaded",
                  topic=RULES, rules=len(rulebook.rules),
                  fix=None if rulebook.rules else "put rules in the config's rules: and run "
                  "`wirewatch rules apply`: without rules no alert is raised")
        report_worker_rules(log, config_path, rulebook.rules)

    def apply(batch: list[RuleRecord]) -> None:
        following = rulebook.ready.is_set()  # before that, ``loaded`` builds the matcher
        if rulebook.apply(batch, rebuild=following) and following:
            report_worker_rules(log, config_path, rulebook.rules)

    await read_rules_topic(apply, follow=True, on_caught_up=loaded)
