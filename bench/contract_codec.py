"""Cost of the topic contracts: decoding and encoding one record, typed against untyped.

    .venv/bin/python bench/contract_codec.py [--records 20000] [--runs 7]

For each record of ``tests/data/records/wire_before.json`` that an agent consumes (a
headline, a classified headline, an alert candidate, an alert), it times, in the same run:

- ``untyped``: what the agents did before the contracts: Faust's JSON codec to a dict;
- ``typed``: what they do now: the topic's schema (``ContractSchema``) validating the bytes
  into the record type, plus the ``model_dump()`` the matcher and the alert desk take;
- ``encode``: sending: the dict through Faust's JSON codec, against the typed record
  through the topic's schema (the bytes are the same; ``tests/unit/test_records.py``).

Prints the median microseconds per record of ``--runs`` passes (after one warm-up pass)
and the typed/untyped ratio.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from faust.serializers import codecs

from streams.contract_topic import decode_value, encode_value
from streams.records import Alert, AlertCandidate, ClassifiedHeadline, Contract, Headline

WIRE = Path(__file__).parents[1] / "tests" / "data" / "records" / "wire_before.json"
CASES: dict[str, type[Contract]] = {
    "headline": Headline, "classified": ClassifiedHeadline, "candidate": AlertCandidate,
    "alert": Alert,
}


def per_record_us(work: Callable[[], object], records: int, runs: int) -> float:
    """Median over ``runs`` passes of the microseconds ``work`` takes per call."""
    for _ in range(min(records, 1000)):  # warm-up
        work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(records):
            work()
        times.append((time.perf_counter() - started) / records * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    wire = json.loads(WIRE.read_text(encoding="utf-8"))
    print(f"{'record':<12}{'bytes':>7}{'untyped µs':>12}{'typed µs':>10}{'ratio':>7}"
          f"{'encode dict µs':>16}{'encode typed µs':>17}{'ratio':>7}")
    for name, value_type in CASES.items():
        raw = base64.b64decode(wire[name])
        as_dict = codecs.loads("json", raw)
        record = decode_value(value_type, raw)
        untyped = per_record_us(lambda raw=raw: codecs.loads("json", raw), args.records, args.runs)
        typed = per_record_us(lambda raw=raw, t=value_type: decode_value(t, raw).model_dump(),
                              args.records, args.runs)
        enc_dict = per_record_us(lambda d=as_dict: codecs.dumps("json", d), args.records,
                                 args.runs)
        enc_typed = per_record_us(lambda r=record, t=value_type: encode_value(t, r),
                                  args.records, args.runs)
        print(f"{name:<12}{len(raw):>7}{untyped:>12.1f}{typed:>10.1f}{typed / untyped:>7.2f}"
              f"{enc_dict:>16.1f}{enc_typed:>17.1f}{enc_typed / enc_dict:>7.2f}")


if __name__ == "__main__":
    main()
