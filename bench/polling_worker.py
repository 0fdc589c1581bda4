"""Polling inside a real worker on real Kafka: worker CPU per poll at a steady poll rate.

    deploy/kafka/local.sh start
    .venv/bin/python bench/polling_worker.py [--feeds 2000] [--interval 60] [--rounds 21]

Starts the feed server of ``polling_bench.py`` (``--items``-item RSS feeds; after their
first poll every feed answers 304, slow ones after 2 s), a config of ``--feeds`` feeds on
it, and one ``wirewatch worker`` on ``WIREWATCH_BROKER``. Every 15 s it prints the worker's CPU time
(user + system, from /proc) and, every fourth line, the polls from ``/metrics``. The steady
state, after the first round's headlines have gone through classification and matching,
gives the worker's CPU per 304 poll, everything included: the leader's tick, Faust's
consume of it, the poll, metrics, the log line (and one /metrics scrape per minute).
2,000 feeds every 60 s is the poll rate of 10,000 feeds every 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from polling_bench import serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def polls(web_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=60).read()
    counts: dict[str, float] = {}
    for line in text.decode().splitlines():
        if line.startswith("wirewatch_feed_polls_total{"):
            outcome = line.split('outcome="')[1].split('"')[0]
            counts[outcome] = counts.get(outcome, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=21, help="15-second rounds")
    parser.add_argument("--items", type=int, default=1,
                        help="items a feed lists (its first poll publishes them all, and the "
                             "pipeline's work on them is not polling's)")
    args = parser.parse_args()
    feed_port, web_port = free_port(), free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(feed_port, 2.0, ready, args.items),
                                     daemon=True)
    server.start()
    ready.wait(30)
    config = Path(tempfile.mkdtemp()) / "wirewatch.yaml"
    config.write_text(json.dumps({
        "polling": {"per_host_concurrency": 64},  # one local host serves every feed
        "feeds": [{"name": f"feed-{n}", "url": f"http://127.0.0.1:{feed_port}/feed/{n}",
                   "interval": args.interval} for n in range(args.feeds)],
    }))
    env = {**os.environ, "WIREWATCH_CONFIG": str(config), "WIREWATCH_WEB_PORT": str(web_port),
           "WIREWATCH_NAMESPACE": "bench-" + uuid.uuid4().hex[:8]}
    with (config.parent / "worker.log").open("wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    started = time.time()
    samples: list[tuple[float, float, float]] = []  # (cpu, polls, time) at each scrape
    try:
        for round_number in range(args.rounds):
            time.sleep(15)
            line = f"{time.time() - started:5.0f} s  worker CPU {cpu_seconds(worker.pid):6.1f} s"
            if round_number % 4 == 3:
                counts = polls(web_port)
                samples.append((cpu_seconds(worker.pid), sum(counts.values()), time.time()))
                line += f"  polls {counts}"
            print(line, flush=True)
    finally:
        worker.terminate()
        worker.wait(60)
        server.terminate()
    (cpu0, polls0, t0), (cpu1, polls1, t1) = samples[-2], samples[-1]
    per_poll = (cpu1 - cpu0) / max(1.0, polls1 - polls0) * 1000
    print(f"last window: {polls1 - polls0:.0f} polls in {t1 - t0:.0f} s, worker CPU "
          f"{cpu1 - cpu0:.1f} s = {per_poll:.2f} ms a poll; "
          f"worker log: {config.parent / 'worker.log'}")


if __name__ == "__main__":
    main()
