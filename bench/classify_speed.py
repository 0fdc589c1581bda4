"""Throughput and memory of the headline classifier on one core (a benchmark, not a test).

    .venv/bin/python bench/classify_speed.py                # 5 runs over 50,000 headlines
    .venv/bin/python bench/classify_speed.py --runs 9 --headlines 100000

Headlines are the evaluation sets' titles, repeated. Each run classifies them in batches
(`classify_many`, as the classify agent does, `--batch` at a time like the agent's BATCH_SIZE)
and then one at a time (`classify`, as `wirewatch classify` does), and in batches again with the
topic model off (lexicons only), for the model's cost measured in the same run. Prints headlines/s
per run, by the wall clock and per CPU second of the process (steadier on a shared machine), the
medians, load time, and peak RSS (resource.getrusage) of the whole process. Pins itself to one
CPU where the OS allows it. After loading it freezes the loaded objects out of the garbage
collector's way, as the classify agent does (`freeze_long_lived`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.classify import Classifier  # noqa: E402
from agents.classify.classifier import freeze_long_lived  # noqa: E402

DATA = ROOT / "tests" / "data" / "classify"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--headlines", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=256,
                        help="batch size (the classify agent's BATCH_SIZE)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    titles = [json.loads(line)["title"]
              for name in ("eval_dev.jsonl", "eval_holdout.jsonl")
              for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    headlines = (titles * (args.headlines // len(titles) + 1))[:args.headlines]

    started = time.perf_counter()
    classifier = Classifier.load()
    load_s = time.perf_counter() - started
    freeze_long_lived()
    rss_after_load = peak_rss_mb()

    lexicons = classifier.with_model(None)
    batches = [[(title, "") for title in headlines[i:i + args.batch]]
               for i in range(0, len(headlines), args.batch)]
    ways: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "batches": (classifier.classify_many, batches),
        "one at a time": (classifier.classify, headlines),
        "batches, lexicons only": (lexicons.classify_many, batches)}
    rates: dict[str, list[float]] = {way: [] for way in ways}
    cpu_rates: dict[str, list[float]] = {way: [] for way in ways}
    for run in range(1, args.runs + 1):
        for way, (classify, items) in ways.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            for item in items:
                classify(item)
            rates[way].append(len(headlines) / (time.perf_counter() - started))
            cpu_rates[way].append(len(headlines) / (time.process_time() - started_cpu))
        print(f"run {run}: " + ", ".join(f"{way} {rates[way][-1]:,.0f} headlines/s "
                                          f"({cpu_rates[way][-1]:,.0f} per CPU second)"
                                          for way in ways))
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'unknown cpu'}, {os.cpu_count()} logical cpus")
    print(f"classifier_version {classifier.version}")
    print(f"load: {load_s:.2f} s, peak RSS after load {rss_after_load:.0f} MB")
    for way, r in rates.items():
        print(f"median, {way}: {statistics.median(r):,.0f} headlines/s "
              f"({statistics.median(cpu_rates[way]):,.0f} per CPU second) over {args.runs} "
              f"runs of {len(headlines):,} headlines")
    on, off = statistics.median(cpu_rates["batches"]), statistics.median(
        cpu_rates["batches, lexicons only"])
    print(f"model on / model off, per CPU second: {on / off:.2f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
