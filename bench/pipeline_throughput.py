"""One worker's pipeline throughput against a raw aiokafka loop, same run, real Kafka (issue 11).

    .venv/bin/python bench/pipeline_throughput.py [--headlines 30000] [--rules 1000]
                                                  [--rss-every 60] [--skip-raw] [--workers 1]

1. **raw loop**: the headlines are loaded onto a fresh topic; one aiokafka consumer reads
   them, parses each as JSON, adds a field, encodes it again and produces it to a second
   topic. Rate: records from the first fetch to the last acknowledged send.
2. **worker**: the same headlines are loaded onto ``wirewatch.headlines`` of a fresh
   namespace with ``--rules`` live rules; one worker classifies them, matches them and the
   desk takes the candidates. Rate: records on ``wirewatch.alert-candidates`` (its end
   offset, read every second: headlines that went through classification and matching),
   first to last reading that moved. The worker's CPU time includes the desk's work on
   the candidates meanwhile; how far the desk got is printed beside it.

``--workers N`` runs N worker processes in the namespace (they share the partitions; the
load starts once all are up and ``SETTLE`` seconds have passed); the rate is theirs together
and the CPU time their sum. The ratio worker/raw comes from the same run. The (first)
worker's RSS is sampled every ``--rss-every`` seconds while it works (the memory target:
run with ``--headlines 1000000 --rules 10000`` for the full reading). The workload is the
flood benchmark's ``distinct`` headlines (bench/flood.py); the rules are ``watch_rules``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from flood import (
    BOOTSTRAP,
    BROKER,
    cpu_seconds,
    headline,
    load,
    make_rules,
    real_titles,
    rss_mb,
    scrape,
    spawn_worker,
    start_worker,
    workload,
)

SETTLE = 15.0  # seconds for extra workers' consumer groups to rebalance before the load
WARM_UP = 24  # headlines through the whole pipeline before the load


def watch_rules(titles: list[str], count: int) -> list[dict]:
    """``count`` rules, each watching two of the titles' common words together (``all``):
    every rule's terms occur often, so the matcher checks rules on every headline, but only
    a few headlines in a hundred raise alerts, as on a real watch list. (The flood benchmark's
    single-word rules alert on most headlines: an alert flood, which is the desk's load.)"""
    words = [r["any"][0] for r in make_rules(titles, count)]  # ~3,000 distinct at most
    pairs = [(words[i % len(words)], words[(7 * i + 13 + i // len(words)) % len(words)])
             for i in range(count)]
    return [{"name": f"w{i}-{a.lower()}-{b.lower()}", "all": [a, b]}
            for i, (a, b) in enumerate(pairs)]


async def raw_loop(records: list[tuple[str, dict]]) -> float:
    """Records/s of consume -> JSON -> produce with plain aiokafka."""
    source, sink = (f"bench-raw-{uuid.uuid4().hex[:8]}-{n}" for n in ("in", "out"))
    await load(source, records)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=BOOTSTRAP, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5,
                                max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        started, pending, done = 0.0, [], 0
        while done < len(records):
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            started = started or time.monotonic()
            for batch in batches.values():
                for record in batch:
                    value = json.loads(record.value)
                    value["relayed"] = True
                    pending.append(await producer.send(sink, json.dumps(value).encode(),
                                                       key=record.key))
                    done += 1
        await asyncio.gather(*pending)
        return len(records) / (time.monotonic() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def run_worker(records: list[dict], rules: list[dict], workdir: Path,
                     rss_every: float, count: int) -> dict:
    namespace, port, log, first = await start_worker("bench-pipe", rules, workdir)
    workers = [(port, log, first)] + [spawn_worker(namespace, workdir) for _ in range(count - 1)]
    samples: list[tuple[float, int, float]] = []  # (wall, candidates, workers' CPU seconds)
    rss: list[tuple[float, float]] = []  # (seconds since load began, MB of the first worker)
    candidates = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None)
    await candidates.start()

    def check() -> None:
        for _, log, worker in workers:
            if worker.poll() is not None:
                raise SystemExit(f"worker exited; see {log}")

    try:
        partition = TopicPartition(f"{namespace}.alert-candidates", 0)
        if count > 1:  # every worker up (metrics served) and its groups settled
            while not all(scrape(p) for p, _, _ in workers):
                check()
                await asyncio.sleep(0.5)
            await asyncio.sleep(SETTLE)
        # on every partition (keys spread), so that every worker has loaded its classifier
        warm = [headline(-1 - n, f"Warm-up headline {n} for the pipeline benchmark", "warm-up")
                for n in range(WARM_UP)]
        await load(f"{namespace}.headlines", [(h["id"], h) for h in warm])
        while (await candidates.end_offsets([partition]))[partition] < WARM_UP:
            check()
            await asyncio.sleep(0.2)
        loading = asyncio.create_task(load(f"{namespace}.headlines",
                                           [(r["id"], r) for r in records]))
        began = next_rss = time.monotonic()
        while not samples or samples[-1][1] < len(records) + WARM_UP:
            check()
            now = time.monotonic()
            done = (await candidates.end_offsets([partition]))[partition]
            samples.append((now, done, sum(cpu_seconds(w.pid) for _, _, w in workers)))
            if now >= next_rss:
                rss.append((now - began, rss_mb(first.pid)[0]))
                next_rss += rss_every
                # as it goes, so that a long run cut short still reports its samples
                print(f"RSS at {rss[-1][0]:.0f} s: {rss[-1][1]:.0f} MB after "
                      f"{samples[-1][1]:,.0f} headlines", flush=True)
            await asyncio.sleep(1.0)
        await loading
        rss.append((time.monotonic() - began, rss_mb(first.pid)[0]))
        desk = sum(scrape(p).get("wirewatch_desk_candidates_total", 0.0) for p, _, _ in workers)
    finally:
        await candidates.stop()
        for _, _, worker in workers:
            worker.terminate()
        for _, _, worker in workers:
            worker.wait(60)
    moving = [s for s in samples if s[1] > samples[0][1]]
    span = moving[-1][0] - moving[0][0]
    done = moving[-1][1] - moving[0][1]
    cpu = moving[-1][2] - moving[0][2]
    return {"rate": done / span, "cpu_rate": done / cpu, "cpu_share": cpu / span, "rss": rss,
            "desk": desk - WARM_UP}


async def main(args: argparse.Namespace) -> None:
    titles = real_titles()
    rules = watch_rules(titles, args.rules)
    # the flood benchmark's distinct workload: copies distinct titles from 1,000 feeds
    headlines = workload("distinct", argparse.Namespace(copies=args.headlines, feeds=1000),
                         titles)
    workdir = Path(tempfile.mkdtemp(prefix="wirewatch-pipe-"))
    print(f"headlines={len(headlines)} rules={len(rules)} broker={BROKER} logs={workdir}")
    raw = None if args.skip_raw else await raw_loop([(h["id"], h) for h in headlines])
    result = await run_worker(headlines, rules, workdir, args.rss_every, args.workers)
    if raw:
        print(f"raw aiokafka consume -> JSON -> produce: {raw:,.0f} records/s")
    print(f"{args.workers} worker(s) headlines -> classified -> alert candidates: "
          f"{result['rate']:,.0f} headlines/s ({result['cpu_rate']:,.0f} per CPU second; "
          f"the workers had {result['cpu_share']:.0%} of a core; the desk had decided on "
          f"{result['desk']:,.0f} of them by then)")
    if raw:
        print(f"ratio worker/raw: {result['rate'] / raw:.3f}")
    print("worker RSS (s since load began: MB): "
          + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in result["rss"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headlines", type=int, default=30_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rss-every", type=float, default=60.0)
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes in the namespace (rates: all of them)")
    asyncio.run(main(parser.parse_args()))
