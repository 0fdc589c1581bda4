"""The fault-injection harness: stories to publish, a broker of the test's own, a ledger of
what landed on the topics, and worker memory sampling (see docs/RELIABILITY.md).

Every check is on what the topics hold afterwards, read from the beginning: each
headline the local site published is on ``wirewatch.classified`` (by feed and id), and
no (rule, story) has a second alert.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streams.demo.site import NewsSite
from streams.embedded_broker import free_port
from streams.feeds.entries import headline_id
from streams.kafka_security import KafkaSecurity
from streams.settings import kafka_client_options

from .conftest import REPO, TopicReader, Worker, add_stories, create_topics

LOCAL_SH = REPO / "deploy" / "kafka" / "local.sh"
BROKER_START_TIMEOUT = 150  # seconds; usually under 30 on a busy machine
#: Faust's own settings, from the environment: a SIGKILLed member is declared dead after
#: 10 s instead of Faust's default 60 s, so that takeovers fit the suite's time budget.
FAST_FAILOVER = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_REBALANCE_TIMEOUT": "20",
                 "BROKER_HEARTBEAT_INTERVAL": "1"}
RULE = {"name": "peacekeepers", "any": ["peacekeeper*"], "severity": "high"}
_WORDS = sorted({w.strip(".,:;'\"?!()").lower()
                 for item in json.loads((REPO / "streams/demo/seed_headlines.json").read_text())
                 for w in item["title"].split() if len(w) > 3 and w.isascii()})


def story_titles(count: int, rng: random.Random) -> list[str]:
    """``count`` titles that the desk sees as distinct stories, each matching ``RULE``."""
    return [f"Peacekeepers {' '.join(rng.sample(_WORDS, 6))} {rng.randrange(10**6)}"
            for _ in range(count)]


def publish(site: NewsSite, count: int, rng: random.Random) -> dict[str, str]:
    """Publish ``count`` new stories on the site: {headline id (as the RSS feed gives): title}."""
    return {headline_id(f"demo-{story.slug}"): story.title
            for story in add_stories(site, *story_titles(count, rng))}


def rss_feeds(site: NewsSite, count: int, interval: float = 1) -> list[dict]:
    """``count`` feeds over the site's RSS (each sees every story, under the same ids)."""
    return [{"name": f"feed-{i:02d}", "url": f"{site.base_url}/rss?f={i}", "interval": interval}
            for i in range(count)]


def fault_config(path: Path, feeds: list[dict]) -> Path:
    path.write_text(json.dumps({"feeds": feeds, "rules": [RULE]}))
    return path


def apply_rules(namespace: str, config: Path, broker: str) -> None:
    """``wirewatch rules apply``, so that the desk has ``RULE`` live."""
    env = {**os.environ, "WIREWATCH_BROKER": broker, "WIREWATCH_NAMESPACE": namespace}
    done = subprocess.run([sys.executable, "-m", "streams", "rules", "apply", str(config)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@dataclass
class Scenario:
    """A test's site, feeds over it, config with ``RULE`` applied, and all it published."""

    site: NewsSite
    names: list[str]
    config: Path
    rng: random.Random
    published: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def make(cls, site: NewsSite, namespace: str, folder: Path, *, feeds: int,
                   seed: int, broker: str, interval: float = 1) -> Scenario:
        """Topics are created first, with their partitions: a reader subscribing to one
        before the worker made it would have the broker auto-create it with one partition."""
        await create_topics(namespace, kafka_client_options(broker, KafkaSecurity.from_env({})))
        entries = rss_feeds(site, feeds, interval)
        config = fault_config(folder / "wirewatch.yaml", entries)
        apply_rules(namespace, config, broker)
        return cls(site, [f["name"] for f in entries], config, random.Random(seed))

    def publish(self, count: int) -> dict[str, str]:
        """Publish ``count`` new stories; {id: title} of these, also added to ``published``."""
        fresh = publish(self.site, count, self.rng)
        self.published |= fresh
        return fresh


@dataclass
class Ledger:
    """What the topics hold, compared with what the site published."""

    classified: Counter[tuple[str, str]] = field(default_factory=Counter)  # (feed, id)
    first_alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, title)

    @classmethod
    def read(cls, classified: list, alerts: list) -> Ledger:
        ledger = cls()
        for _, value in classified:
            ledger.classified[(value["feed"], value["id"])] += 1
        for _, value in alerts:
            if value["kind"] == "match" and not value["update"]:
                ledger.first_alerts[(value["rule"], value["title"])] += 1
        return ledger

    def missing(self, feeds: list[str], ids: Collection[str]) -> set[tuple[str, str]]:
        return {(f, i) for f in feeds for i in ids} - set(self.classified)

    def duplicated(self) -> int:
        """Classified records beyond the first per (feed, id): at-least-once redeliveries."""
        return sum(n - 1 for n in self.classified.values())

    def second_alerts(self) -> dict[tuple[str, str], int]:
        return {pair: n for pair, n in self.first_alerts.items() if n > 1}


def all_classified(feeds: list[str], ids: Collection[str]) -> Callable[[list], bool]:
    """A ``TopicReader.wait_for`` predicate: every (feed, id) is on the classified topic."""
    return lambda messages: not Ledger.read(messages, []).missing(feeds, ids)


async def first_arrival(reader: TopicReader, ids: Collection[str], timeout: float,
                        worker: Worker | None = None) -> float:
    """The time (monotonic) the first record of ``ids`` is read from ``reader``'s topic."""
    seen = len(reader.messages)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = await reader.drain(0.2)
        if any(value["id"] in ids for _, value in messages[seen:]):
            return time.monotonic()
        seen = len(messages)
    tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
    raise AssertionError(f"none of {len(ids)} headlines arrived within {timeout}s{tail}")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (a worker's parse pool, if any)."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("VmRSS:"))) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_bytes(int(child))
    except (OSError, StopIteration):
        pass  # the process (or a child) ended while being read
    return total


@dataclass(frozen=True)
class OwnBroker:
    """A plaintext broker of one test's own, so stopping it leaves the shared one alone."""

    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    def client_options(self) -> dict:
        return kafka_client_options(self.url, KafkaSecurity.from_env({}))

    def local_sh(self, command: str) -> None:
        done = subprocess.run([str(LOCAL_SH), command], env=self.env, capture_output=True,
                              text=True, timeout=BROKER_START_TIMEOUT + 60, check=False)
        if done.returncode != 0:
            pytest.fail(f"local.sh {command} on port {self.port} failed:\n{done.stderr}")


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    port = free_port()
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(free_port()),
           "KAFKA_START_TIMEOUT": str(BROKER_START_TIMEOUT), "KAFKA_SECURITY": "plaintext"}
    broker = OwnBroker(port, env)
    try:
        broker.local_sh("start")
        yield broker
    finally:
        subprocess.run([str(LOCAL_SH), "stop"], env=env, capture_output=True, timeout=90,
                       check=False)
        home = Path(env.get("KAFKA_HOME_DIR") or REPO / ".cache" / "kafka")
        shutil.rmtree(home / "run" / str(port), ignore_errors=True)  # its data and logs
