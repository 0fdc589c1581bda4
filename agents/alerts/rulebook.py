"""The live rule set: every worker reads the whole compacted ``wirewatch.rules`` topic.

Key = rule name, value = rule JSON, tombstone = delete. Like a Faust global
table, each worker keeps all of it; unlike a local file, a ``wirewatch rules
apply`` reaches every running worker within seconds. A record that does not
parse is logged (naming the key) and leaves the previous version of that rule
in force.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.alerts.matcher import Matcher
from agents.alerts.rules import Rule, RuleError, rule_from_json
from streams.app import app, settings
from streams.logs import log_event
from streams.topics import RULES, rules_topic

log = logging.getLogger(__name__)


class RuleBook:
    """Current rules and their compiled matcher; ``ready`` once the topic is read to its end."""

    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.matcher = Matcher(())
        self.ready = asyncio.Event()

    def apply(self, records: Iterable[tuple[str, bytes | None]]) -> bool:
        """Apply (key, value) records in order; True when the rule set changed.

        The matcher is rebuilt once per call, not per record: on start-up the whole topic
        arrives in a few batches.
        """
        changed = False
        for key, value in records:
            changed |= self._apply_one(key, value)
        if changed:
            self.matcher = Matcher(self.rules.values())
        return changed

    def _apply_one(self, key: str, value: bytes | None) -> bool:
        if value is None:
            if self.rules.pop(key, None) is None:
                return False
            log_event(log, logging.INFO, "rule_removed", rule=key)
            return True
        try:
            rule = rule_from_json(value, key=key)
        except RuleError as exc:
            log_event(log, logging.ERROR, "rule_rejected", rule=key, error=str(exc))
            return False
        if self.rules.get(key) == rule:
            return False
        self.rules[key] = rule
        log_event(log, logging.INFO, "rule_updated", rule=key, severity=rule.severity)
        return True


rulebook = RuleBook()


RuleRecord = tuple[str, bytes | None]  # (rule name, rule JSON or None for a tombstone)


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
    await consumer.start()
    try:
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
            on_batch([(r.key.decode() if r.key else "", r.value) for r in records])
    finally:
        await consumer.stop()


@app.task
async def follow_rules() -> None:
    """Every worker: read ``wirewatch.rules`` from the beginning, then follow it."""
    await rules_topic.maybe_declare()

    def loaded() -> None:
        rulebook.ready.set()
        log_event(log, logging.INFO, "rules_loaded", rules=len(rulebook.rules))

    await read_rules_topic(rulebook.apply, follow=True, on_caught_up=loaded)
