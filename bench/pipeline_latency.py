"""End-to-end benchmark on real Kafka: story on a site -> alert on wirewatch.alerts.

Needs a broker (``deploy/kafka/local.sh start``; ``WIREWATCH_BROKER`` to use another).
Starts a local news site with ``--feeds`` RSS feeds (polled every ``--interval`` s)
and one worker, then:

1. backlog: publishes ``--backlog`` stories spread over the feeds and times how long
   until every one of them is on ``wirewatch.classified`` (throughput of the whole
   poll -> headline -> classify path, one worker);
2. latency: publishes ``--probes`` stories that match a rule, one at a time, and
   measures each one's time from publication on the site to its alert. Expect about
   half a poll interval plus the processing time.

    .venv/bin/python bench/pipeline_latency.py --feeds 20 --backlog 2000 --probes 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from streams.demo.site import NewsSite, Story
from streams.kafka_security import KafkaSecurity
from streams.settings import kafka_client_options

REPO = Path(__file__).resolve().parents[1]
BROKER = os.environ.get("WIREWATCH_BROKER", "kafka://127.0.0.1:9092")
KAFKA_OPTIONS = kafka_client_options(BROKER, KafkaSecurity.from_env(os.environ))


def story(title: str) -> Story:
    return Story(uuid.uuid4().hex[:12], title, None, datetime.now(UTC))


class FeedSites:
    """``count`` independent sites (one feed each) on one server."""

    def __init__(self, count: int) -> None:
        self.sites = [NewsSite(f"site {i}") for i in range(count)]

    async def start(self) -> list[str]:
        return [await site.start() for site in self.sites]

    async def stop(self) -> None:
        for site in self.sites:
            await site.stop()


async def consume_until(topic: str, done: Callable[[dict], bool], timeout: float) -> float:
    consumer = AIOKafkaConsumer(topic, **KAFKA_OPTIONS,
                                group_id=None, auto_offset_reset="earliest",
                                metadata_max_age_ms=1000)
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if done(json.loads(record.value)):
                        return time.monotonic()
        raise TimeoutError(f"{topic}: not done within {timeout}s")
    finally:
        await consumer.stop()


async def main(args: argparse.Namespace) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    sites = FeedSites(args.feeds)
    urls = await sites.start()
    workdir = Path(tempfile.mkdtemp(prefix="wirewatch-bench-"))
    config = workdir / "wirewatch.yaml"
    config.write_text(json.dumps({
        "feeds": [{"name": f"feed-{i}", "url": f"{u}/rss", "interval": args.interval}
                  for i, u in enumerate(urls)],
        "rules": [{"name": "probe", "any": ["wirewatchprobe"], "severity": "high"}],
    }))
    env = {**os.environ, "WIREWATCH_BROKER": BROKER, "WIREWATCH_NAMESPACE": namespace,
           "WIREWATCH_CONFIG": str(config), "WIREWATCH_WEB_PORT": str(args.web_port),
           "WIREWATCH_LOG_LEVEL": "warning"}
    subprocess.run([sys.executable, "-m", "streams", "rules", "apply"], env=env, check=True,
                   cwd=REPO, capture_output=True)
    for i in range(args.backlog):
        sites.sites[i % args.feeds].publish(story(f"Backlog headline number {i} about markets"))
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env, cwd=REPO,
                              stdout=(workdir / "worker.log").open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        seen: set[str] = set()
        first: list[float] = []

        def all_classified(value: dict) -> bool:
            first[:] = first or [time.monotonic()]
            seen.add(value["id"])
            return len(seen) >= args.backlog

        finished = await consume_until(f"{namespace}.classified", all_classified, 600)
        if worker.poll() is not None:
            raise SystemExit(f"worker exited; see {workdir / 'worker.log'}")
        backlog_s, flowing_s = finished - started, finished - first[0]
        latencies = []
        for n in range(args.probes):
            marker = f"wirewatchprobe {n} {uuid.uuid4().hex[:6]}"
            waiter = asyncio.create_task(consume_until(
                f"{namespace}.alerts", lambda v, m=marker: m in (v.get("title") or ""), 120))
            await asyncio.sleep(1.0)  # the consumer is subscribed
            published = time.monotonic()
            sites.sites[n % args.feeds].publish(story(f"Breaking: {marker} reported"))
            latencies.append(await waiter - published)
        latencies.sort()
        print(f"feeds={args.feeds} interval={args.interval}s backlog={args.backlog} "
              f"probes={args.probes} broker={BROKER}")
        print(f"backlog: {args.backlog} headlines classified {backlog_s:.1f}s after the worker "
              f"started; {flowing_s:.1f}s from the first to the last = "
              f"{args.backlog / flowing_s:.0f} headlines/s")
        print(f"publication-to-alert: median {statistics.median(latencies):.2f}s, "
              f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f}s, "
              f"max {latencies[-1]:.2f}s over {len(latencies)} probes")
    finally:
        worker.terminate()
        worker.wait(60)
        await sites.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=15)
    parser.add_argument("--web-port", type=int, default=6099)
    asyncio.run(main(parser.parse_args()))
