"""The rules topic on real Kafka: poison records never stop a worker, and the worker and
``check-config`` both say when the live rules are not the config's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.embedded_broker import free_port

from .conftest import BOOTSTRAP, BROKER, REPO, wait_until

pytestmark = pytest.mark.kafka

PEACE = {"name": "peacekeepers", "any": ["peacekeep*"], "severity": "high"}
COP = {"name": "cop29", "any": ["COP29", "COP 29"]}
DEEP = b"[" * 100_000 + b"]" * 100_000

POISON = [  # (key, value) after one valid rule at offset 0
    (b"deep", DEEP),
    (b"\xff\xfe", json.dumps({"name": "x", "any": ["x"]}).encode()),
    (b"garbage", b"\x00\xff\xfe\x80 not json"),
    (b"listy", b'[{"name": "listy", "any": ["x"]}]'),
    (b"backref", json.dumps({"name": "backref", "regex": r"(\w+) \1"}).encode()),
]


def wirewatch(namespace: str, *args: str, broker: str = BROKER) -> subprocess.CompletedProcess:
    env = {**os.environ, "WIREWATCH_BROKER": broker, "WIREWATCH_NAMESPACE": namespace}
    return subprocess.run([sys.executable, "-m", "streams", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


async def publish_rules(topic: str, records: list[tuple[bytes, bytes]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1,
                                            topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all",
                                max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


async def test_poison_rule_records_are_skipped_and_drift_is_reported(
        namespace, tmp_path: Path, start_worker) -> None:
    topic = f"{namespace}.rules"
    await publish_rules(topic, [(b"peacekeepers", json.dumps(PEACE).encode()), *POISON])
    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": [], "rules": [PEACE, COP]}), encoding="utf-8")

    checked = wirewatch(namespace, "check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert f"rules: the live topic {topic} on {BROKER} differs from the config: " \
           "not live: cop29; live but not in the config: " in checked.stderr
    assert "run `wirewatch rules apply`" in checked.stderr

    worker = start_worker(config)
    log = worker.log_path

    def logged(pattern: str) -> list[str]:
        text = log.read_text(errors="replace") if log.exists() else ""
        return re.findall(pattern, text)

    await wait_until(lambda: logged(r"rules_out_of_sync .*"), 120, "the drift warning", worker)
    rejected = logged(r"rule_rejected (topic=\S+ partition=\d+ offset=\d+ key=\S+)")
    assert sorted(rejected) == [
        f"topic={topic} partition=0 offset=1 key=deep",
        f"topic={topic} partition=0 offset=2 key='\\udcff\\udcfe'",
        f"topic={topic} partition=0 offset=3 key=garbage",
        f"topic={topic} partition=0 offset=4 key=listy",
        f"topic={topic} partition=0 offset=5 key=backref",
    ]
    assert logged(r"offset=1 key=deep error=.*nested too deeply")
    assert logged(r"offset=4 key=listy error=.*must be a mapping, not list")
    assert logged(r"offset=5 key=backref error=.*regex: backreferences")
    assert logged(r"rules_loaded topic=\S+ rules=1")
    assert logged(r"rules_out_of_sync .*differences=\"not live: cop29\" "
                  r"fix=\"run `wirewatch rules apply`")
    assert worker.proc is not None and worker.proc.poll() is None
    metrics = worker.metrics()
    assert metrics[("wirewatch_rule_records_rejected_total", ())] == len(POISON)
    assert metrics[("wirewatch_rules_live", ())] == 1
    assert metrics[("wirewatch_rules_out_of_sync", (("kind", "missing"),))] == 1

    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    assert "added: cop29" in applied.stdout

    def in_sync() -> bool:
        m = worker.metrics()
        return (m.get(("wirewatch_rules_live", ())) == 2 and
                m.get(("wirewatch_rules_out_of_sync", (("kind", "missing"),))) == 0)

    await wait_until(in_sync, 60, "the worker to see the applied rules in sync", worker)
    assert logged(r"rules_in_sync topic=\S+ config=\S+ rules=2")
    assert worker.proc.poll() is None
    checked = wirewatch(namespace, "check-config", str(config))
    assert f"rules: the live topic {topic} on {BROKER} has exactly the config's 2 rules" \
        in checked.stderr


def test_check_config_says_when_it_cannot_reach_the_broker(namespace, tmp_path: Path) -> None:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": [], "rules": [PEACE]}), encoding="utf-8")
    nowhere = f"kafka://127.0.0.1:{free_port()}"
    checked = wirewatch(namespace, "check-config", str(config), broker=nowhere)
    assert checked.returncode == 0, checked.stderr  # the config itself is valid
    assert checked.stdout.strip() == f"{config}: OK (0 feeds, 1 rules, 0 sinks)"
    assert (f"rules: not compared with the live topic {namespace}.rules: cannot read it from "
            f"{nowhere} (") in checked.stderr
    assert "Unclosed" not in checked.stderr


async def test_worker_whose_config_rules_were_never_applied_says_so(
        namespace, tmp_path: Path, start_worker) -> None:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": [], "rules": [PEACE]}), encoding="utf-8")
    worker = start_worker(config)

    def text() -> str:
        return worker.log_path.read_text(errors="replace") if worker.log_path.exists() else ""

    await wait_until(lambda: "rules_out_of_sync" in text(), 120, "the drift warning", worker)
    [loaded] = [line for line in text().splitlines() if "rules_loaded" in line]
    assert "WARNING" in loaded and "rules=0" in loaded
    assert "`wirewatch rules apply`" in loaded
    assert 'differences="not live: peacekeepers"' in text()
    metrics = worker.metrics()
    assert metrics[("wirewatch_rules_live", ())] == 0
    assert metrics[("wirewatch_rules_out_of_sync", (("kind", "missing"),))] == 1
