"""Latency on real Kafka at a steady load: story on a site -> alert on wirewatch.alerts.

Needs a broker (``deploy/kafka/local.sh start``; ``WIREWATCH_BROKER`` to use another).
Starts ``--feeds`` local RSS feeds polled every ``--interval`` s, applies ``--rules``
watch-list rules (the throughput benchmark's two-word rules) plus one probe rule, and
starts one worker. After a warm-up (one probe story per feed, all alerted), it publishes
``--rate`` stories a second for ``--seconds``, spread round-robin over the feeds; every
``--probe-every``-th story carries the probe word, so it raises an alert. For each probe:

- publication -> alert: from the moment the story is on the site to the alert record's
  timestamp on ``wirewatch.alerts`` (what a subscriber sees; includes waiting for the poll);
- Wirewatch's own part: from the headline's ``fetched_at`` (the fetch's end) to the alert's
  ``detected_at``, and to the alert record's timestamp;

each as p50/p95/p99, with the worker's CPU share. (Throughput: bench/pipeline_throughput.py.)

    .venv/bin/python bench/pipeline_latency.py --feeds 20 --interval 1 --rate 100 --seconds 60
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
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from flood import BOOTSTRAP, BROKER, REPO, cpu_seconds, real_titles, workload
from pipeline_throughput import watch_rules

from agents.alerts.records import parse_time
from streams.demo.site import NewsSite, Story
from streams.embedded_broker import free_port

PROBE = "wirewatchprobe"


HOPS = ("headlines", "classified", "alert-candidates", "alerts")  # the topics, in order


class Clock:
    """When each probe story (by title) reached each point: ``published`` on the site, its
    headline's ``fetched_at``, the record timestamp on each topic of ``HOPS``, and the
    alert's ``detected_at`` (``detected``)."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {
            point: {} for point in ("published", "fetched", *HOPS, "detected")}

    def on_record(self, hop: str, value: dict, timestamp_ms: int) -> None:
        headline = value.get("headline", value)  # a candidate wraps its headline
        title = headline.get("title") or ""
        if PROBE not in title or (hop == "alerts" and (value.get("rule") != "probe"
                                                       or value.get("update"))):
            return
        self.at[hop].setdefault(title, timestamp_ms / 1000)
        for point, field in (("fetched", "fetched_at"), ("detected", "detected_at")):
            when = parse_time(value.get(field))
            if when is not None:
                self.at[point].setdefault(title, when.timestamp())

    def missing(self, titles: list[str]) -> list[str]:
        return [t for t in titles if t not in self.at["alerts"]]

    def spans(self, titles: list[str], start: str, end: str) -> list[float]:
        return [self.at[end][t] - self.at[start][t] for t in titles
                if t in self.at[start] and t in self.at[end]]


async def follow(namespace: str, clock: Clock) -> None:
    """Read the topics of ``HOPS`` into ``clock`` (once the worker has made them)."""
    topics = {f"{namespace}.{hop}": hop for hop in HOPS}
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        while not set(topics) <= set(await admin.list_topics()):
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=BOOTSTRAP, group_id=None,
                                auto_offset_reset="earliest", metadata_max_age_ms=1000)
    await consumer.start()
    try:
        while True:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for record in records:
                    clock.on_record(topics[tp.topic], json.loads(record.value),
                                    record.timestamp)
    finally:
        await consumer.stop()


async def wait_alerted(clock: Clock, titles: list[str], timeout: float,
                       worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while clock.missing(titles) and time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited; see {log}")
        await asyncio.sleep(0.2)


FEED_ITEMS = 50  # a site's feed lists its newest stories, as real feeds do


def publish(site: NewsSite, title: str, clock: Clock) -> None:
    site.publish(Story(uuid.uuid4().hex[:12], title, None, datetime.now(UTC)))
    del site.stories[FEED_ITEMS:]
    clock.at["published"][title] = time.time()


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {1000 * cuts[49]:.0f} ms, p95 {1000 * cuts[94]:.0f} ms, "
            f"p99 {1000 * cuts[98]:.0f} ms, max {1000 * max(values):.0f} ms")


async def steady(args: argparse.Namespace, sites: list[NewsSite], titles: list[str],
                 clock: Clock) -> list[str]:
    """Publish ``args.rate`` stories a second for ``args.seconds``; the probe titles."""
    probes, started = [], time.monotonic()
    for n in range(int(args.rate * args.seconds)):
        delay = started + n / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        title = titles[n % len(titles)]
        if n % args.probe_every == 0:
            title = f"{title} {PROBE} {n}"
            probes.append(title)
        publish(sites[n % len(sites)], title, clock)
    return probes


async def main(args: argparse.Namespace) -> None:
    namespace, workdir = f"bench-lat-{uuid.uuid4().hex[:8]}", Path(tempfile.mkdtemp())
    sites = [NewsSite(f"site {i}") for i in range(args.feeds)]
    urls = [await site.start() for site in sites]
    titles = [h["title"] for h in workload("distinct", argparse.Namespace(
        copies=int(args.rate * args.seconds) + args.feeds, feeds=1), real_titles())]
    config, log = workdir / "wirewatch.yaml", workdir / "worker.log"
    config.write_text(json.dumps({
        "feeds": [{"name": f"feed-{i}", "url": f"{u}/rss", "interval": args.interval}
                  for i, u in enumerate(urls)],
        "rules": [*watch_rules(real_titles(), args.rules),
                  {"name": "probe", "any": [PROBE], "severity": "high"}],
    }))
    env = {**os.environ, "WIREWATCH_BROKER": BROKER,
           "WIREWATCH_NAMESPACE": namespace, "WIREWATCH_CONFIG": str(config),
           "WIREWATCH_WEB_PORT": str(free_port()), "WIREWATCH_LOG_LEVEL": "warning"}
    subprocess.run([sys.executable, "-m", "streams", "rules", "apply"], env=env, check=True,
                   cwd=REPO, capture_output=True)
    clock = Clock()
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env, cwd=REPO,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    following = asyncio.create_task(follow(namespace, clock))
    try:
        # distinct titles: near-duplicates would be one story, with one alert
        warm = [f"{title} {PROBE} warm-up" for title in titles[-args.feeds:]]
        for site, title in zip(sites, warm, strict=True):
            publish(site, title, clock)
        await wait_alerted(clock, warm, 300, worker, log)
        if clock.missing(warm):
            raise SystemExit(f"warm-up: no alert for {clock.missing(warm)}; see {log}")
        print(f"feeds={args.feeds} interval={args.interval}s rules={args.rules + 1} "
              f"broker={BROKER}; warm after {time.monotonic() - started:.1f} s")
        cpu_before, wall_before = cpu_seconds(worker.pid), time.monotonic()
        probes = await steady(args, sites, titles, clock)
        await wait_alerted(clock, probes, 60, worker, log)
        cpu_share = (cpu_seconds(worker.pid) - cpu_before) / (time.monotonic() - wall_before)
    finally:
        following.cancel()
        worker.terminate()
        worker.wait(60)
        for site in sites:
            await site.stop()
    print(f"steady: {args.rate:g} stories/s for {args.seconds:g} s, {len(probes)} probes, "
          f"{len(probes) - len(clock.missing(probes))} alerted; "
          f"worker CPU {cpu_share:.0%} of a core")
    for label, start, end in (
            ("publication -> alert on the topic", "published", "alerts"),
            ("publication -> fetch end (polling)", "published", "fetched"),
            ("fetch end -> detected_at (Wirewatch)", "fetched", "detected"),
            ("fetch end -> alert on the topic", "fetched", "alerts"),
            *((f"  hop {a} -> {b}", a, b)
              for a, b in zip(("fetched", *HOPS[:-1]), HOPS, strict=True))):
        print(f"{label}: {percentiles(clock.spans(probes, start, end))}")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=100.0, help="stories per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--probe-every", type=int, default=5,
                        help="every Nth story matches the probe rule and is timed")
    parser.add_argument("--rules", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
