"""Integration fixtures: the real Kafka broker, worker processes, a local news site.

The broker is the one ``deploy/kafka/local.sh start`` runs (``make test`` starts
it); ``WIREWATCH_BROKER`` points elsewhere. A missing broker fails the tests:
they are never skipped. Each test gets its own namespace (app id and topic
prefix), so tests share the broker without sharing state.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from streams.demo.site import NewsSite, Story
from streams.demo.timeline import slugify
from streams.embedded_broker import free_port, wait_for_port
from streams.kafka_security import KafkaSecurity
from streams.settings import bootstrap_servers, kafka_client_options

REPO = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("WIREWATCH_BROKER", "kafka://127.0.0.1:9092")
BOOTSTRAP = ",".join(bootstrap_servers(BROKER))  # aiokafka's comma-separated form
#: The test helpers' aiokafka options: the WIREWATCH_KAFKA_* settings apply to them too.
KAFKA_OPTIONS = kafka_client_options(BROKER, KafkaSecurity.from_env(os.environ))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    host, port = BOOTSTRAP.split(",")[0].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), 3).close()
    except OSError as exc:
        pytest.fail(f"no Kafka broker at {BOOTSTRAP} ({exc}); run deploy/kafka/local.sh start")
    return BOOTSTRAP


@pytest.fixture
def namespace(kafka_bootstrap: str) -> str:
    return f"ww-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def news_site() -> AsyncIterator[NewsSite]:
    site = NewsSite("Test News")
    await site.start()
    yield site
    await site.stop()


@asynccontextmanager
async def serving(app: web.Application, *hosts: str) -> AsyncIterator[str]:
    """Serve ``app`` on one free port of each of ``hosts`` (default 127.0.0.1); yields the
    first host's base URL."""
    hosts = hosts or ("127.0.0.1",)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    try:
        for host in hosts:
            await web.TCPSite(runner, host, port).start()
        yield f"http://{hosts[0]}:{port}"
    finally:
        await runner.cleanup()


def add_stories(site: NewsSite, *titles: str) -> list[Story]:
    stories = []
    for title in titles:
        story = Story(slugify(title, len(site.stories)), title, f"About {title}",
                      datetime.now(UTC))
        site.publish(story)
        stories.append(story)
    return stories


def write_config(path: Path, feeds: list[dict]) -> Path:
    path.write_text(json.dumps({"feeds": feeds}), encoding="utf-8")  # JSON is YAML
    return path


class Worker:
    """A ``wirewatch worker`` child process with its own web port and log file."""

    def __init__(self, namespace: str, config: Path, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ, "WIREWATCH_BROKER": BROKER, "WIREWATCH_NAMESPACE": namespace,
            "WIREWATCH_CONFIG": str(config), "WIREWATCH_WEB_PORT": str(self.port), **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"], env=self.env, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        return self

    def stop(self, timeout: float = 60) -> int:
        """Graceful stop (SIGTERM), as an operator or orchestrator would do."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> float:
        """SIGKILL, as a crash or the OOM killer would do; the time it died (monotonic)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        return time.monotonic()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Samples of /metrics as {(name, sorted labels): value}; {} while not serving."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
        }

    def polls(self) -> Counter[str]:
        """Polls this worker made per feed (any outcome), from one scrape of /metrics."""
        counts: Counter[str] = Counter()
        for (name, labels), value in self.metrics().items():
            if name == "wirewatch_feed_polls_total":
                counts[dict(labels)["feed"]] += value
        return counts


@pytest.fixture
def start_worker(tmp_path: Path, namespace: str) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def _start(config: Path, name: str = "worker", **env: str) -> Worker:
        worker = Worker(namespace, config, tmp_path / f"{name}.log", **env).start()
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        worker.stop()


class TopicReader:
    """Reads every committed message of a topic from the beginning, keeping them in order
    (``read_committed``, as every subscriber of the desk's transactional topics must)."""

    def __init__(self, topic: str, client_options: dict | None = None) -> None:
        self.topic = topic
        self.messages: list[tuple[str | None, dict]] = []
        self._consumer = AIOKafkaConsumer(
            topic, **(client_options or KAFKA_OPTIONS), group_id=None,
            auto_offset_reset="earliest", isolation_level="read_committed",
            enable_auto_commit=False, metadata_max_age_ms=1000,
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def drain(self, seconds: float) -> list[tuple[str | None, dict]]:
        """Read for ``seconds`` more; return everything read so far."""
        batches = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for records in batches.values():
            for r in records:
                self.messages.append((r.key.decode() if r.key else None, json.loads(r.value)))
        return self.messages

    async def wait_for(self, predicate: Callable[[list], bool], timeout: float,
                       what: str, worker: Worker | None = None) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(await self.drain(0.5)):
                return self.messages
        tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                             f"got {len(self.messages)} messages{tail}")


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
                     worker: Worker | None = None) -> None:
    """Poll ``predicate`` in a thread: it may block (HTTP, files) while this loop keeps
    serving the test's news site to the workers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.5)
    tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")


def cli_lines(namespace: str, *args: str, count: int, timeout: float = 60) -> list[str]:
    """The first ``count`` stdout lines of a long-running ``wirewatch`` command, then stop it."""
    env = {**os.environ, "WIREWATCH_BROKER": BROKER, "WIREWATCH_NAMESPACE": namespace}
    proc = subprocess.Popen([sys.executable, "-m", "streams", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while output.count(b"\n") < count and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                chunk = os.read(fd, 65536)  # raw reads: no buffer hides lines from select
                if not chunk:
                    break
                output += chunk
    finally:
        proc.terminate()
        proc.wait(30)
    return output.decode().splitlines()[:count]


@cache
def topic_list(namespace: str) -> list[tuple[str, int, dict[str, str]]]:
    """Wirewatch's topics in ``namespace`` as ``wirewatch topics list`` prints them:
    (name, partitions, config), generated from streams/topics.py (once per namespace)."""
    env = {**os.environ, "WIREWATCH_NAMESPACE": namespace}
    out = subprocess.run([sys.executable, "-m", "streams", "topics", "list"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    topics = []
    for line in out.splitlines():
        name, partitions, *config = line.split()
        topics.append((name, int(partitions), dict(c.split("=", 1) for c in config)))
    return topics


async def create_topics(namespace: str, client_options: dict | None = None) -> list[str]:
    """Create every Wirewatch topic of ``namespace`` before any worker runs; their names."""
    wanted = await asyncio.to_thread(topic_list, namespace)
    admin = AIOKafkaAdminClient(**(client_options or KAFKA_OPTIONS))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config)
                                   for name, partitions, config in wanted])
    finally:
        await admin.close()
    return [name for name, _, _ in wanted]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Debian's Prometheus with the shipped alert rules, scraping ``targets`` (ports on
    127.0.0.1, or host:port) as job ``wirewatch`` every second; ``alerting`` is its
    ``alerting:`` section, if any. Returns its port."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (make test installs deploy/apt-packages.txt)")
    procs = []

    def start(*targets: int | str, alerting: dict | None = None) -> int:
        port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(REPO / "deploy/prometheus/rules/*.yml")],
            "scrape_configs": [{"job_name": "wirewatch", "static_configs": [{"targets": [
                f"127.0.0.1:{t}" if isinstance(t, int) else t for t in targets]}]}],
            **({"alerting": alerting} if alerting else {}),
        }
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        with (tmp_path / "prometheus.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port, 30, procs[-1])
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(30)


# Shared by the worker tests: a config's sections, the CLI, and the demo site's feeds.
RULES = [
    {"name": "peacekeepers", "any": ["peacekeeper*", "peacekeeping"], "severity": "high"},
    {"name": "cop29", "any": ["COP29", "COP 29", "COP-29"], "not": ["COP290"]},
    {"name": "karabakh-security", "all": ["Karabakh"], "any": ["mine*", "troops"],
     "regions": ["South Caucasus"], "topics": ["conflict/war/peace"], "severity": "high"},
]


def wirewatch(namespace: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WIREWATCH_BROKER": BROKER, "WIREWATCH_NAMESPACE": namespace}
    return subprocess.run([sys.executable, "-m", "streams", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def write(path: Path, **sections: object) -> Path:
    path.write_text(json.dumps(sections), encoding="utf-8")
    return path


HTML_SELECT = {
    "item": "aside.latest-news li", "title": ".title", "link": "a", "summary": ".sub",
    "published": "time", "date_format": "%d %B %Y - %H:%M", "timezone": "Asia/Baku",
}


def site_feeds(site: NewsSite, interval: float = 1) -> list[dict]:
    return [
        {"name": "site-rss", "url": f"{site.base_url}/rss", "interval": interval},
        {"name": "site-latest", "url": f"{site.base_url}/latest", "interval": interval,
         "kind": "html", "select": HTML_SELECT},
    ]
