"""Decoding an alert candidate into what the story desk uses, four ways (issue 14).

    .venv/bin/python bench/candidate_decode.py [--batches 20] [--runs 7]

The desk's logic takes the headline as a dict and the matches as ``Match`` objects. For
the candidate records of ``tests/data/records/wire_before.json`` it times, in one run,
batches of 1,000 decoded candidates kept alive (as the batch stage keeps them), with the
worker's GC threshold (``streams.app``):

- ``model+dump``: ``AlertCandidate.model_validate_json`` then ``headline.model_dump()``
  (the desk before);
- ``model``: ``model_validate_json`` alone (the floor of reading attributes instead);
- ``typed dict``: ``streams.contract_dicts.dict_decoder(AlertCandidate).validate_json``,
  the same contract check building the dicts directly (the desk now);
- ``orjson``: ``orjson.loads`` with no check at all (the floor of any JSON decoding).

Prints the median CPU microseconds per candidate over ``--runs`` passes (after a warm-up
pass) and each way's ratio to ``model+dump``.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

import streams.app  # noqa: F401 (the worker's GC threshold)
from streams.contract_dicts import dict_decoder
from streams.records import AlertCandidate

WIRE = Path(__file__).parents[1] / "tests" / "data" / "records" / "wire_before.json"
BATCH = 1000


def model_and_dump(raw: bytes) -> object:
    candidate = AlertCandidate.model_validate_json(raw)
    return candidate.headline.model_dump(), candidate.matches


def per_record_us(decode: Callable[[bytes], object], records: list[bytes], batches: int,
                  runs: int) -> float:
    """Median over ``runs`` of CPU microseconds per record, batches of ``BATCH`` kept."""
    times = []
    for run in range(runs + 1):
        started = time.process_time()
        for _ in range(batches):
            kept = [decode(records[i % len(records)]) for i in range(BATCH)]
        del kept
        if run:  # the first pass warms up
            times.append((time.process_time() - started) / (batches * BATCH) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    wire = json.loads(WIRE.read_text(encoding="utf-8"))
    records = [base64.b64decode(value) for name, value in sorted(wire.items())
               if name.startswith("candidate")]
    typed = dict_decoder(AlertCandidate)
    ways: dict[str, Callable[[bytes], object]] = {
        "model+dump": model_and_dump, "model": AlertCandidate.model_validate_json,
        "typed dict": typed.validate_json, "orjson": orjson.loads,
    }
    base = None
    print(f"{len(records)} candidate records, {args.batches} x {BATCH} per pass, "
          f"median of {args.runs} passes")
    for name, decode in ways.items():
        us = per_record_us(decode, records, args.batches, args.runs)
        base = base or us
        print(f"{name:<12}{us:>8.1f} µs CPU per candidate  {us / base:>5.2f}x")


if __name__ == "__main__":
    main()
