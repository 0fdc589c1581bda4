"""CPU per headline of the classify and match stages' work, without Kafka (issue 11).

    .venv/bin/python bench/stage_handlers.py [--headlines 6000] [--rules 1000] [--runs 5]

Feeds the pipeline benchmark's headlines (bench/pipeline_throughput.py: the flood
benchmark's distinct workload, its two-word rules) through what each stage does with a
poll's records: decode the bytes against the topic's contract, then the handler
(``classify_records``: classify and encode; ``match_records``: match and encode), in
batches of 256. Prints the median over ``--runs`` of the process CPU time per headline for
each step, and the headlines per CPU second of all four: the ceiling of one worker's
classify and match stages on one core, before Kafka's clients and the desk take their share.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Callable

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from flood import real_titles, workload
from pipeline_throughput import watch_rules

from agents.alerts import match_stage
from agents.alerts.matcher import Matcher
from agents.alerts.rules import load_rules
from agents.classify import agent as classify
from streams.batch_stage import BatchStage, Output
from streams.records import ClassifiedHeadline, Headline

BATCH = 256


def consumed(topic: str, outputs: list[tuple[str, bytes]]) -> list[ConsumerRecord]:
    return [ConsumerRecord(topic, 0, n, 0, 0, key.encode(), value, None, len(key),
                           len(value), []) for n, (key, value) in enumerate(outputs)]


def decoder(value_type: type) -> Callable[[list[ConsumerRecord]], list]:
    stage = BatchStage("bench", "bench", value_type, None, app_id="bench",  # type: ignore[arg-type]
                       client_options={})
    return lambda records: stage._decode(records)[0]


async def one_run(raws: list[tuple[str, bytes]]) -> dict[str, float]:
    tp = TopicPartition("bench", 0)
    decode_headline, decode_classified = decoder(Headline), decoder(ClassifiedHeadline)
    spent = dict.fromkeys(("decode headline", "classify", "decode classified", "match"), 0.0)
    for start in range(0, len(raws), BATCH):
        marks = [time.process_time()]
        headlines = decode_headline(consumed("headlines", raws[start : start + BATCH]))
        marks.append(time.process_time())
        outputs: list[Output] = await classify.classify_records(tp, headlines)
        marks.append(time.process_time())
        classified = decode_classified(consumed("classified", [(o.key, o.value)
                                                               for o in outputs]))
        marks.append(time.process_time())
        await match_stage.match_records(tp, classified)
        marks.append(time.process_time())
        for step, before, after in zip(spent, marks, marks[1:], strict=False):
            spent[step] += after - before
    return {step: seconds / len(raws) for step, seconds in spent.items()}


def main(args: argparse.Namespace) -> None:
    titles = real_titles()
    headlines = workload("distinct", argparse.Namespace(copies=args.headlines, feeds=1000),
                         titles)
    raws = [(h["id"], json.dumps(h).encode()) for h in headlines]
    match_stage.rulebook.matcher = Matcher(load_rules(watch_rules(titles, args.rules),
                                                      source="bench"))
    classify.feed_countries = dict  # no feed config: no country priors
    classify.shared_classifier()
    if not args.no_freeze:
        gc.freeze()  # as the classify stage does once the classifier is loaded
    asyncio.run(one_run(raws))  # warm-up
    runs = [asyncio.run(one_run(raws)) for _ in range(args.runs)]
    total = statistics.median(sum(run.values()) for run in runs)
    print(f"headlines={len(raws)} rules={args.rules} runs={args.runs} (median CPU per headline)")
    for step in runs[0]:
        print(f"  {step}: {1e6 * statistics.median(run[step] for run in runs):.1f} µs")
    print(f"  all four: {1e6 * total:.1f} µs = {1 / total:,.0f} headlines per CPU second")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headlines", type=int, default=6000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the classifier's objects to the garbage collector")
    main(parser.parse_args())
