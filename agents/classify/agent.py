"""The classify stage: wirewatch.headlines -> wirewatch.classified (same key).

Each headline is published again with its topics, countries, regions, language
and classifier version. A headline the classifier fails on is still forwarded,
unclassified, with the error logged: nothing is lost. Headlines that break their
contract never get here: the stage sends them to ``wirewatch.dead``.

It runs as a ``BatchStage`` (its own aiokafka consumer in the group
``<namespace>.classify``, off Faust's per-event path; issue 11): each poll's records of a
partition are decoded once, classified as one batch, and produced without waiting on each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from functools import cache
from typing import Any

from aiokafka import TopicPartition

from agents.classify.classifier import Classification, Classifier, freeze_long_lived
from streams import metrics
from streams.batch_stage import Output, StageRecord
from streams.logs import log_event
from streams.records import ClassifiedHeadline, Headline
from streams.runtime import current_config
from streams.stage_output import StageOutputs
from streams.topics import CLASSIFIED, DEAD_LETTERS, HEADLINES
from streams.worker_stage import worker_stage

log = logging.getLogger(__name__)

BATCH_SIZE = 1000  # headlines a poll hands over at most (the model scores them at once)
BATCH_WAIT_MS = 20  # a poll waits at most this long for the first record


@cache
def shared_classifier() -> Classifier:
    """Loaded once per process (building the gazetteer takes a moment), and kept out of the
    garbage collector's way (`freeze_long_lived`)."""
    classifier = Classifier.load()
    freeze_long_lived()
    return classifier


@cache
def feed_countries() -> dict[str, str]:
    """Feed name -> the `country:` its config gives (the classifier's place prior)."""
    return {f.name: f.country for f in current_config().feeds if f.country}


def classify_headlines_batch(
    classifier: Classifier, headlines: list[Headline],
    countries: Mapping[str, str] | None = None,
) -> list[ClassifiedHeadline]:
    """The classified records of a batch (see ``classified_fields``)."""
    return [ClassifiedHeadline.model_validate(fields, strict=False)
            for fields in classified_fields(classifier, headlines, countries)]


def classified_fields(
    classifier: Classifier, headlines: list[Headline],
    countries: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Each headline's fields plus its classification, with its feed's country prior from
    `countries` (feed name -> ISO code).

    If the batch fails, each headline is classified alone, and one that still fails is
    forwarded unclassified with the error logged: nothing is lost."""
    started = time.perf_counter()
    priors = [(countries or {}).get(h.feed) for h in headlines]
    try:
        results = classifier.classify_many([(h.title, h.summary) for h in headlines], priors)
    except Exception:  # one bad headline: find it, and classify the others
        results = [_classify_one(classifier, h, p) for h, p in zip(headlines, priors,
                                                                   strict=True)]
    each = (time.perf_counter() - started) / max(len(headlines), 1)
    for _ in results:
        metrics.CLASSIFY_DURATION.observe(each)
    # one increment per label and batch, not per headline (labels() locks and looks up)
    best = Counter(r.topics[0].label if r.topics else "none" for r in results)
    for label, count in best.items():
        metrics.HEADLINES_CLASSIFIED.labels(label).inc(count)
    for region, count in Counter(n for r in results for n in r.region_names).items():
        metrics.HEADLINES_BY_REGION.labels(region).inc(count)
    return [{**h.model_dump(), **r.to_dict()} for h, r in zip(headlines, results, strict=True)]


def _classify_one(classifier: Classifier, headline: Headline,
                  prior: str | None) -> Classification:
    try:
        return classifier.classify(headline.title, headline.summary, prior)
    except Exception as exc:  # a bad headline must not stop the stream
        log_event(log, logging.ERROR, "classify_failed", exc_info=True, id=headline.id,
                  feed=headline.feed, error=repr(exc))
        return Classification([], [], [], "und", classifier.version)


async def classify_records(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
    """The stage's handler: one partition's headlines -> their classified records."""
    if shared_classifier.cache_info().currsize:
        classifier = shared_classifier()
    else:  # building the gazetteer takes seconds: off the event loop, heartbeats go on
        classifier = await asyncio.get_running_loop().run_in_executor(None, shared_classifier)
    classified = classified_fields(classifier, [r.value for r in records], feed_countries())
    return [outputs.output(tp, record, value)
            for record, value in zip(records, classified, strict=True)]


outputs = StageOutputs(CLASSIFIED, ClassifiedHeadline, Headline, DEAD_LETTERS)
classify_stage = worker_stage("classify", HEADLINES, Headline, classify_records,
                              max_records=BATCH_SIZE, wait_ms=BATCH_WAIT_MS)
