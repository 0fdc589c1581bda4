"""Polling at scale: one worker's poller against 10,000 feeds on a local server.

    .venv/bin/python bench/polling_bench.py [--feeds 10000] [--hosts 500] [--concurrency 64]
        [--slow 2.0] [--cycles 3] [--profile FILE]

A server process on 127.0.0.1 serves every feed (20 items, about 6 KB): 90% answer 304 to
their ETag, 5% gain one new item each cycle, 5% are slow (``--slow`` seconds, then 304).
Feeds sit on ``--hosts`` made-up host names (``site-N.test``, resolved to 127.0.0.1 here as
an /etc/hosts entry would), so the per-host limits and connection pools work as they do on
the internet. The poller runs as the polling agent does: ``--concurrency`` polls at once
(the agent's concurrency), state read from and written to a table (a dict here, the bytes
counted as the Faust changelog would carry them: key + JSON value).

Cycle 1 is every feed's first poll (warm-up). Each later cycle polls every feed once and
reports wall time, this process's CPU per poll by outcome (parsing runs in the pool's
processes and is not counted), changelog bytes by outcome and new TCP connections. The
last pass polls only the 304 feeds, back to back, for the CPU cost of a quiet feed.

Runs against the code on ``PYTHONPATH``: on a checkout from before the split feed state
(``streams.feeds.state`` absent) it writes the whole state on every poll, as that code did.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import pstats
import random
import socket
import statistics
import time
from collections import Counter, defaultdict

import aiohttp
import aiohttp.connector
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from streams.config import FeedConfig, PollingConfig
from streams.feeds.poller import Poller

try:
    from streams.feeds.state import load_state, state_writes
except ImportError:  # the single-record state of earlier versions
    load_state = state_writes = None
    from streams.feeds.poller import FeedState as OldFeedState

ITEMS = 20


def kind_of(feed: int) -> str:
    slot = feed % 100
    return "quiet" if slot < 90 else ("busy" if slot < 95 else "slow")


def render(feed: int, newest: int, items: int = ITEMS) -> bytes:
    items = "".join(
        f"<item><guid>f{feed}-i{n}</guid><title>Headline {n} of feed {feed}: ministers meet "
        f"over the budget</title><link>https://site.example/{feed}/{n}</link>"
        f"<description>{'A summary sentence about the story. ' * 6}</description>"
        f"<pubDate>Fri, 04 Dec 2026 10:{n % 60:02d}:00 GMT</pubDate></item>"
        for n in range(newest, newest - items, -1)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Feed {feed}</title>{items}</channel></rss>").encode()


def serve(port: int, slow: float, ready: multiprocessing.Event, items: int = ITEMS) -> None:
    """The feed server (its own process, so its CPU is not the poller's)."""
    cycle = 0
    connections: set[object] = set()  # the transports themselves: ids of closed ones recur
    cache: dict[tuple[int, int], bytes] = {}

    async def feed(request: web.Request) -> web.Response:
        connections.add(request.transport)
        number = int(request.match_info["n"])
        kind = kind_of(number)
        if kind == "slow":
            await asyncio.sleep(slow)
        version = cycle if kind == "busy" else 0
        etag = f'"v{number}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = cache.get((number, version)) or render(number, 100 + version, items)
        cache[(number, version)] = body
        return web.Response(body=body, content_type="application/rss+xml",
                            headers={"ETag": etag})

    async def next_cycle(request: web.Request) -> web.Response:
        nonlocal cycle
        cycle += 1
        return web.json_response({"connections": len(connections)})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"connections": len(connections)})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}", feed)
        app.router.add_post("/next-cycle", next_cycle)
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=75)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


class TestNames(AbstractResolver):
    """``*.test`` -> 127.0.0.1, like an /etc/hosts entry."""

    def __init__(self, **_: object) -> None:
        pass

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port,
                 "family": socket.AF_INET, "proto": 6, "flags": 0}]

    async def close(self) -> None:
        pass


class Table(dict):
    """The feed-state table; ``written`` counts changelog bytes per outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.written: Counter[str] = Counter()
        self.records: Counter[str] = Counter()

    def save(self, outcome: str, writes: dict) -> None:
        for key, value in writes.items():
            self.written[outcome] += len(key) + len(json.dumps(value))
            self.records[outcome] += 1
            if value is None:
                self.pop(key, None)
            else:
                self[key] = json.loads(json.dumps(value))


async def poll_one(poller: Poller, table: Table, feed: FeedConfig) -> str:
    if load_state is None:
        outcome = await poller.poll(feed, OldFeedState.from_json(table.get(feed.name)))
        table.save(outcome.outcome, {feed.name: outcome.state.to_json()})
    else:
        stored = load_state(table.get, feed.name)
        outcome = await poller.poll(feed, stored.state)
        table.save(outcome.outcome, state_writes(feed.name, stored, outcome.state))
    return outcome.outcome


async def cycle(poller: Poller, table: Table, feeds: list[FeedConfig], concurrency: int) -> dict:
    queue: asyncio.Queue[FeedConfig] = asyncio.Queue()
    for feed in feeds:
        queue.put_nowait(feed)
    outcomes: Counter[str] = Counter()
    cpu: defaultdict[str, float] = defaultdict(float)

    async def worker() -> None:
        while not queue.empty():
            feed = queue.get_nowait()
            outcomes[await poll_one(poller, table, feed)] += 1

    table.written.clear()
    table.records.clear()
    wall, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu["all"] = time.process_time() - cpu0
    return {"wall_s": time.perf_counter() - wall, "cpu_s": cpu["all"],
            "outcomes": dict(outcomes), "bytes": dict(table.written),
            "records": dict(table.records)}


async def run(args: argparse.Namespace, port: int) -> None:
    aiohttp.connector.DefaultResolver = TestNames  # type: ignore[misc,assignment]
    polling = PollingConfig(timeout=20, per_host_concurrency=2)
    poller = Poller(polling)
    hosts = random.Random(7)
    feeds = [FeedConfig(name=f"feed-{n}", interval=300,
                        url=f"http://site-{hosts.randrange(args.hosts)}.test:{port}/feed/{n}")
             for n in range(args.feeds)]
    table = Table()
    async with aiohttp.ClientSession() as control:
        async def connections(path: str = "stats") -> int:
            """TCP connections the server has seen; ``next-cycle`` also moves busy feeds on."""
            method = control.post if path == "next-cycle" else control.get
            async with method(f"http://127.0.0.1:{port}/{path}") as resp:
                return (await resp.json())["connections"]

        for number in range(1, args.cycles + 1):
            before = await connections("next-cycle")
            profile = cProfile.Profile() if args.profile and number == args.cycles else None
            if profile:
                profile.enable()
            result = await cycle(poller, table, feeds, args.concurrency)
            if profile:
                profile.disable()
                profile.dump_stats(args.profile)
            result["new_connections"] = await connections() - before
            report(number, result)
        quiet = [f for n, f in enumerate(feeds) if kind_of(n) == "quiet"]
        cpu_per_304 = []
        for _ in range(3):
            result = await cycle(poller, table, quiet, args.concurrency)
            cpu_per_304.append(result["cpu_s"] / len(quiet) * 1000)
        print(f"304-only pass: {len(quiet)} polls, CPU per 304 poll (ms), median of 3: "
              f"{statistics.median(cpu_per_304):.3f}  all: "
              f"{', '.join(f'{v:.3f}' for v in cpu_per_304)}")
        state_bytes = sum(len(k) + len(json.dumps(v)) for k, v in table.items())
        print(f"table: {len(table)} records, {state_bytes / 1e6:.1f} MB")
    await poller.close() if hasattr(poller, "close") else None


def report(number: int, r: dict) -> None:
    polls = sum(r["outcomes"].values())
    print(f"cycle {number}: {polls} polls in {r['wall_s']:.1f} s wall, "
          f"CPU {r['cpu_s']:.1f} s ({r['cpu_s'] / polls * 1000:.2f} ms/poll), "
          f"new connections {r['new_connections']}")
    for outcome, count in sorted(r["outcomes"].items()):
        written = r["bytes"].get(outcome, 0)
        print(f"  {outcome:>12}: {count:6d} polls, changelog {written / 1e6:8.3f} MB "
              f"in {r['records'].get(outcome, 0)} records, {written / count:9.0f} B/poll")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--slow", type=float, default=2.0)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the last cycle here")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, args.slow, ready), daemon=True)
    server.start()
    ready.wait(30)
    try:
        asyncio.run(run(args, port))
    finally:
        server.terminate()
    if args.profile:
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
