"""Syndication flood vs. distinct headlines through one worker on real Kafka (issue 14).

    .venv/bin/python bench/flood.py [--copies 100000] [--stories 10] [--feeds 1000]
                                    [--rules 1000] [--only flood|distinct]
                                    [--stage desk|pipeline]

Workloads, the same size:

* **flood**: ``--copies`` copies of ``--stories`` stories (real titles), each copy under its
  own URL, from ``--feeds`` feeds, interleaved;
* **distinct**: ``--copies`` distinct headlines, made by joining the first half of one real
  title (``tests/data/classify/*.jsonl``, ``streams/demo/seed_headlines.json``) to the second
  half of another.

``--rules`` rules watch single words taken from those titles. For each workload it first
times the desk's own logic in this process (in-memory state, no Kafka), then runs two
workers, each in a fresh namespace, warmed up with one headline before the load:

1. **desk**: the candidates (classified and matched here, beforehand) are loaded onto
   ``alert-candidates``; desk candidates/s comes from the worker's
   ``wirewatch_desk_candidates_total``, first to last scrape that moved;
2. **pipeline**: the headlines are loaded onto ``wirewatch.headlines``; the classification
   rate is ``wirewatch_headlines_classified_total`` over the same kind of span, with the
   desk working downstream in the same worker.

Rates are given per wall second and per CPU second of the worker (the machine may be shared).
Then it reads back the alerts (first alerts, updates, surges; every (rule, story) must have
exactly one first alert, read_committed), the largest record of each store on
``desk-state``, and the worker's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.alerts.desk import STORY_WINDOW, AlertDesk
from agents.alerts.desk_state import DeskState
from agents.alerts.matcher import Matcher
from agents.alerts.rules import load_rules
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector
from agents.classify.classifier import Classifier
from streams.app import GC_YOUNG_THRESHOLD
from streams.contract_topic import decode_value
from streams.embedded_broker import free_port
from streams.records import AlertCandidate
from streams.settings import bootstrap_servers

REPO = Path(__file__).resolve().parents[1]
BROKER = os.environ.get("WIREWATCH_BROKER", "kafka://127.0.0.1:9092")
BOOTSTRAP = ",".join(bootstrap_servers(BROKER))


def real_titles() -> list[str]:
    titles = []
    for path in sorted((REPO / "tests/data/classify").glob("*.jsonl")):
        titles += [json.loads(line)["title"] for line in path.read_text().splitlines() if line]
    seed = json.loads((REPO / "streams/demo/seed_headlines.json").read_text())
    return sorted({*titles, *(item["title"] for item in seed)})


def make_rules(titles: list[str], count: int) -> list[dict]:
    words = Counter(w for t in titles for w in re.findall(r"[A-Za-z]{5,}", t))
    chosen = [w for w, _ in words.most_common(count)]
    return [{"name": f"r{i}-{w.lower()}", "any": [w]} for i, w in enumerate(chosen)]


def headline(i: int, title: str, feed: str) -> dict:
    return {"id": f"h{i}", "feed": feed, "source": f"{feed}.example", "title": title,
            "url": f"https://{feed}.example/news/{i}", "summary": "", "published": None,
            "fetched_at": datetime.now(UTC).isoformat()}


def workload(kind: str, args: argparse.Namespace, titles: list[str]) -> list[dict]:
    rng = random.Random(14)
    if kind == "flood":
        stories = rng.sample(titles, args.stories)
        # copy k of each story comes from feed k: every feed carries every story
        return [headline(i, stories[i % args.stories],
                         f"feed-{(i // args.stories) % args.feeds}") for i in range(args.copies)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < args.copies:
        pairs.add((rng.randrange(len(titles)), rng.randrange(len(titles))))
    out = []
    for i, (a, b) in enumerate(sorted(pairs, key=lambda _: rng.random())):
        first, second = titles[a].split(), titles[b].split()
        title = " ".join(first[: len(first) // 2] + second[len(second) // 2 :])
        out.append(headline(i, title, f"feed-{i % args.feeds}"))
    return out


def candidates(headlines: list[dict], rules: list[dict]) -> list[dict]:
    """The records match_headlines would send: classified headline plus its matches."""
    classifier = Classifier.load()
    matcher = Matcher(load_rules(rules, source="bench"))
    done: dict[str, tuple[dict, list[dict]]] = {}
    todo = sorted({h["title"] for h in headlines})
    for start in range(0, len(todo), 256):
        batch = todo[start : start + 256]
        for title, result in zip(batch, classifier.classify_many([(t, "") for t in batch]),
                                 strict=True):
            fields = result.to_dict()
            matches = [asdict(m) for m in matcher.match({"title": title, "summary": "",
                                                         "feed": "x", **fields})]
            done[title] = (fields, matches)
    return [{"headline": {**h, **done[h["title"]][0]}, "matches": done[h["title"]][1]}
            for h in headlines]


async def create_topics(namespace: str) -> None:
    """The two input topics, as the worker would declare them (it may start after)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"{namespace}.headlines", 6, 1),
                                   NewTopic(f"{namespace}.alert-candidates", 1, 1)])
    finally:
        await admin.close()


async def load(topic: str, records: list[tuple[str, dict]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20,
                                max_batch_size=512 * 1024, compression_type=None)
    await producer.start()
    try:
        for start in range(0, len(records), 5000):
            futures = [await producer.send(topic, json.dumps(v).encode(), key=k.encode())
                       for k, v in records[start : start + 5000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(topic: str, seconds: float = 3.0) -> list[tuple[bytes, bytes | None]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_bytes=50 * 1024 * 1024,
                                isolation_level="read_committed")
    await consumer.start()
    out: list[tuple[bytes, bytes | None]] = []
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=int(seconds * 1000), max_records=50000)
            if not batches:
                return out
            out += [(r.key, r.value) for records in batches.values() for r in records]
    finally:
        await consumer.stop()


def scrape(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    sums: Counter[str] = Counter()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            sums[name] += float(line.rsplit(" ", 1)[1])
    return sums


async def wait_for(worker: subprocess.Popen, port: int, metric: str, count: int,
                   log: str) -> list[tuple[float, float, float]]:
    """Scrape ``metric`` every 0.1 s until it reaches ``count``; the samples, each
    (wall time, value, the worker's CPU seconds so far)."""
    samples: list[tuple[float, float, float]] = []
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited; see {log}")
        got = await asyncio.to_thread(scrape, port)
        samples.append((time.monotonic(), got.get(metric, 0.0), cpu_seconds(worker.pid)))
        if samples[-1][1] >= count:
            return samples
        await asyncio.sleep(0.1)
    raise SystemExit(f"{metric} did not reach {count} within 900 s; see {log}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status.splitlines())
          if k in ("VmRSS", "VmHWM")}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


async def start_worker(prefix: str, rules: list[dict],
                       workdir: Path) -> tuple[str, int, Path, subprocess.Popen]:
    """A worker in a fresh namespace with ``rules`` applied and its input topics made:
    (namespace, metrics port, log file, process)."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:8]}"
    config = workdir / f"{namespace}.yaml"
    config.write_text(json.dumps({"feeds": [], "rules": rules}))
    env = worker_env(namespace, config, free_port())
    subprocess.run([sys.executable, "-m", "streams", "rules", "apply"], env=env, check=True,
                   cwd=REPO, capture_output=True)
    await create_topics(namespace)
    port, log, worker = spawn_worker(namespace, workdir)
    return namespace, port, log, worker


def worker_env(namespace: str, config: Path, port: int) -> dict[str, str]:
    return {**os.environ, "WIREWATCH_BROKER": BROKER, "WIREWATCH_NAMESPACE": namespace,
            "WIREWATCH_CONFIG": str(config), "WIREWATCH_WEB_PORT": str(port),
            "WIREWATCH_LOG_LEVEL": "warning"}


def spawn_worker(namespace: str, workdir: Path) -> tuple[int, Path, subprocess.Popen]:
    """One more worker process of ``namespace`` (started by ``start_worker``): (metrics
    port, log file, process)."""
    port = free_port()
    log = workdir / f"{namespace}-{port}.log"
    worker = subprocess.Popen([sys.executable, "-m", "streams", "worker"],
                              env=worker_env(namespace, workdir / f"{namespace}.yaml", port),
                              cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return port, log, worker


async def run_worker(kind: str, stage: str, records: list[dict], rules: list[dict],
                     workdir: Path) -> dict:
    """One worker over ``records`` preloaded on ``stage``'s topic; the measured numbers."""
    namespace, port, log, worker = await start_worker("bench-flood", rules, workdir)
    metric = ("wirewatch_desk_candidates_total" if stage == "desk"
              else "wirewatch_headlines_classified_total")
    samples: list[tuple[float, float, float]] = []
    try:
        # Warm up: one headline all the way through (classifier loaded, partitions assigned).
        warm = headline(-1, "Warm-up headline for the flood benchmark run", "warm-up")
        await load(f"{namespace}.headlines", [(warm["id"], warm)])
        await wait_for(worker, port, "wirewatch_desk_candidates_total", 1, str(log))
        topic = "alert-candidates" if stage == "desk" else "headlines"
        keyed = [(r["headline"]["id"] if stage == "desk" else r["id"], r) for r in records]
        loading = asyncio.create_task(load(f"{namespace}.{topic}", keyed))
        samples = await wait_for(worker, port, metric, len(records) + 1, str(log))
        await loading
        if stage == "pipeline":  # the desk finishes the workload too
            await wait_for(worker, port, "wirewatch_desk_candidates_total", len(records) + 1,
                           str(log))
        rss, peak = rss_mb(worker.pid)
        await asyncio.sleep(2)  # the last batch's state and alerts reach Kafka
    finally:
        started = time.monotonic()
        worker.terminate()
        worker.wait(60)
        stop_s = time.monotonic() - started
    moving = [s for s in samples if s[1] > samples[0][1]]
    span = moving[-1][0] - moving[0][0]
    done = moving[-1][1] - moving[0][1]
    rate = done / span if span else float("nan")
    cpu = moving[-1][2] - moving[0][2]
    cpu_rate = done / cpu if cpu else float("nan")
    alerts = [json.loads(v) for _, v in await read_all(f"{namespace}.alerts") if v]
    firsts = Counter((a["rule"], a["story_id"]) for a in alerts
                     if a["kind"] == "match" and not a["update"])
    largest: dict[str, tuple[int, int]] = {}  # store -> (largest record, records)
    for key, value in await read_all(f"{namespace}.desk-state"):
        store = key.decode().split(":", 1)[0]
        size, count = largest.get(store, (0, 0))
        largest[store] = (max(size, len(value or b"")), count + 1)
    return {
        "kind": kind, "stage": stage, "rate": rate, "cpu_rate": cpu_rate,
        "cpu_share": cpu / span if span else float("nan"), "rss_mb": rss, "peak_rss_mb": peak,
        "alerts": sum(firsts.values()), "pairs": len(firsts),
        "stories": len({story for _, story in firsts}),
        "updates": sum(1 for a in alerts if a["update"]),
        "surges": sum(1 for a in alerts if a["kind"] == "surge"),
        "largest": largest, "sigterm_s": stop_s,
    }


def report(result: dict) -> None:
    what = "desk candidates/s" if result["stage"] == "desk" else "classified headlines/s"
    print(f"{result['kind']:8} {result['stage']:8} {what}: {result['rate']:,.0f} "
          f"({result['cpu_rate']:,.0f} per CPU second; the worker had "
          f"{result['cpu_share']:.0%} of a core); "
          f"alerts {result['alerts']} for {result['pairs']} (rule, story) pairs over "
          f"{result['stories']} alerted stories; updates {result['updates']}; "
          f"surges {result['surges']}; RSS {result['rss_mb']:.0f} MB "
          f"(peak {result['peak_rss_mb']:.0f}); SIGTERM to exit {result['sigterm_s']:.1f} s")
    for store, (size, count) in sorted(result["largest"].items()):
        print(f"{'':18}desk-state {store}: {count:,} records, largest {size:,} bytes")


def in_process(kind: str, cands: list[dict], rules: list[dict]) -> None:
    """The desk's own logic over its in-memory state, each candidate decoded once from its
    bytes and the changed keys encoded every 1,000, as the desk stage does (no Kafka)."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)  # as in the worker (streams/app.py)
    state = DeskState()
    stores = state.stores
    desk = AlertDesk(StoryIndex(stores["stories"], STORY_WINDOW), stores["alerted"],
                     SurgeDetector(stores["surges"]),
                     {r.name: r for r in load_rules(rules, source="bench")})
    raw = [json.dumps(c).encode() for c in cands]
    now = datetime.now(UTC)
    alerts = writes = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for i, value in enumerate(raw):
        candidate = decode_value(AlertCandidate, value, as_dicts=True)  # as the stage does
        alerts += len(desk.decide(candidate["headline"], candidate["matches"], now))
        if i % 1000 == 999:
            writes += len(state.changes())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{kind:8} in-process desk logic: {len(cands) / cpu:,.0f} candidates per CPU second "
          f"({len(cands) / wall:,.0f}/s wall); {alerts:,} alerts and updates; "
          f"{writes / len(cands):.2f} state writes per candidate")


async def main(args: argparse.Namespace) -> None:
    titles = real_titles()
    rules = make_rules(titles, args.rules)
    workdir = Path(tempfile.mkdtemp(prefix="wirewatch-flood-"))
    print(f"copies={args.copies} stories={args.stories} feeds={args.feeds} "
          f"rules={len(rules)} titles={len(titles)} broker={BROKER} logs={workdir}")
    for kind in ("flood", "distinct"):
        if args.only and kind != args.only:
            continue
        headlines = workload(kind, args, titles)
        matched = candidates(headlines, rules)
        in_process(kind, matched, rules)
        for stage in ("desk", "pipeline"):
            if args.stage and stage != args.stage:
                continue
            records = matched if stage == "desk" else headlines
            report(await run_worker(kind, stage, records, rules, workdir))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100_000)
    parser.add_argument("--stories", type=int, default=10)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--only", choices=("flood", "distinct"))
    parser.add_argument("--stage", choices=("desk", "pipeline"))
    asyncio.run(main(parser.parse_args()))
