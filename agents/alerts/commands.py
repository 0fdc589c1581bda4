"""CLI of the alert agents: ``wirewatch rules apply|list`` and ``wirewatch alerts``.

Also checks the ``rules:`` and ``sinks:`` sections for ``wirewatch check-config``.
"""

from __future__ import annotations

import asyncio
import sys

import click
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faust.cli import argument, option

from agents.alerts.config_rules import FIX, diff_rules, rules_in
from agents.alerts.records import SEVERITIES, alert_passes
from agents.alerts.rulebook import RuleRecord, encode_key, read_rules_topic
from agents.alerts.rules import (
    Rule,
    RuleError,
    printable_name,
    rule_from_json,
    rule_to_json,
)
from agents.alerts.sink_kinds import load_sinks
from streams.app import app, settings
from streams.commands import PlainCommand
from streams.config import (
    ConfigError,
    SectionProblem,
    WirewatchConfig,
    load_config,
    register_live_check,
    register_section_check,
)
from streams.display import dumps, format_alert
from streams.records import Alert
from streams.subscribe import subscribe
from streams.topics import ALERTS, RULES


@register_section_check
def check_rules_and_sinks(config: WirewatchConfig, source: str) -> list[SectionProblem]:
    problems: list[SectionProblem] = []
    rule_names: list[str] | None = None  # unknown when the rules do not load
    try:
        rule_names = [rule.name for rule in rules_in(config, source)]
    except RuleError as exc:
        problems += exc.located
    try:
        load_sinks(config.sinks, source=source, rule_names=rule_names)
    except RuleError as exc:
        problems += exc.located
    return problems


async def read_live_rules() -> dict[str, bytes]:
    """The rule records currently in force on the rules topic (name -> JSON)."""
    live: dict[str, bytes] = {}

    def keep(batch: list[RuleRecord]) -> None:
        for record in batch:
            if record.value is None:
                live.pop(record.key, None)
            else:
                live[record.key] = record.value

    await read_rules_topic(keep, follow=False)
    return live


LIVE_RULES_TIMEOUT = 15.0  # seconds check-config waits for the broker


def _parsed(name: str, value: bytes) -> Rule | None:
    try:
        return rule_from_json(value, key=name)
    except Exception:  # a poison record: reported as a changed or extra rule
        return None


@register_live_check
async def compare_live_rules(config: WirewatchConfig, source: str) -> list[str]:
    """For ``check-config``: whether the live rules topic holds the config's rules."""
    try:
        live = await asyncio.wait_for(read_live_rules(), LIVE_RULES_TIMEOUT)
    except Exception as exc:  # unreachable, timed out, refused: say so, never guess
        reason = str(exc) or type(exc).__name__
        return [f"rules: not compared with the live topic {RULES}: cannot read it from "
                f"{settings.broker} ({reason})"]
    diff = diff_rules(rules_in(config, source), {n: _parsed(n, v) for n, v in live.items()})
    if diff.in_sync:
        return [f"rules: the live topic {RULES} on {settings.broker} has exactly the config's "
                f"{len(live)} rules"]
    return [f"rules: the live topic {RULES} on {settings.broker} differs from the config: "
            f"{diff.describe()}; {FIX}"]


async def ensure_rules_topic() -> None:
    admin = AIOKafkaAdminClient(**settings.kafka_client_options)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(RULES, 1, settings.replication,
                                            topic_configs={"cleanup.policy": "compact"})])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def apply_rules(rules: list[Rule]) -> dict[str, list[str]]:
    """Publish the difference between ``rules`` and the live rules; returns what changed."""
    await ensure_rules_topic()
    live = await read_live_rules()
    wanted = {rule.name: rule_to_json(rule).encode() for rule in rules}
    changes: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    producer = AIOKafkaProducer(**settings.kafka_client_options, acks="all")
    await producer.start()
    try:
        for name, value in wanted.items():
            if live.get(name) != value:
                changes["changed" if name in live else "added"].append(name)
                await producer.send_and_wait(RULES, key=name.encode(), value=value)
        for name in live.keys() - wanted.keys():
            changes["removed"].append(name)
            await producer.send_and_wait(RULES, key=encode_key(name), value=None)
    finally:
        await producer.stop()
    return changes


@app.command(
    argument("action", type=click.Choice(["apply", "list"])),
    argument("path", required=False),
    option("--json", "as_json", is_flag=True, default=False, help="list: JSON lines."),
    base=PlainCommand,
)
async def rules(self: PlainCommand, action: str, path: str | None, as_json: bool) -> int:
    """`rules apply [PATH]` publishes the config's rules (the difference); `rules list`."""
    if action == "list":
        for name, value in sorted((await read_live_rules()).items()):
            # poison records print too, their odd bytes escaped
            text = value.decode("utf-8", "backslashreplace")
            key = encode_key(name).decode("utf-8", "backslashreplace")
            print(text if as_json else f"{key}: {text}")
        return 0
    source = path or str(settings.config_path)
    try:
        wanted = rules_in(load_config(source), source)
    except (ConfigError, RuleError) as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    changes = await apply_rules(wanted)
    for kind, names in changes.items():
        for name in names:
            print(f"{kind}: {printable_name(name)}")
    print(f"{RULES}: {len(wanted)} rules live, {sum(map(len, changes.values()))} changes")
    return 0


@app.command(
    option("--rule", "rule_names", multiple=True, help="Only this rule (repeatable)."),
    option("--min-severity", type=click.Choice(SEVERITIES), default="info", show_default=True),
    option("--from-beginning", is_flag=True, default=False, help="Replay retained alerts."),
    option("--json", "as_json", is_flag=True, default=False, help="One JSON object a line."),
    base=PlainCommand,
)
async def alerts(self: PlainCommand, rule_names: tuple[str, ...], min_severity: str,
                 from_beginning: bool, as_json: bool) -> int:
    """Print alerts from wirewatch.alerts as they fire."""
    async for _, record in subscribe({ALERTS: Alert}, from_beginning=from_beginning):
        alert = record.model_dump(mode="json")
        if alert_passes(alert, rules=rule_names, min_severity=min_severity):
            print(dumps(alert) if as_json else format_alert(alert), flush=True)
    return 0

