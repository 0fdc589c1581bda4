"""The classify agent: wirewatch.headlines -> wirewatch.classified (same key).

Each headline is published again with its topics, countries, regions, language
and classifier version. A headline the classifier fails on is still forwarded,
unclassified, with the error logged: nothing is lost. Headlines that break their
contract never get here: ``wirewatch.headlines`` sends them to ``wirewatch.dead``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from functools import cache

from agents.classify.classifier import Classification, Classifier, freeze_long_lived
from streams import metrics
from streams.app import app
from streams.logs import log_event
from streams.records import ClassifiedHeadline, Headline
from streams.runtime import current_config
from streams.topics import classified_topic, headlines_topic

log = logging.getLogger(__name__)

BATCH_SIZE = 256
BATCH_WAIT = 0.05  # seconds


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
    """The classified records of a batch: each headline's fields plus its classification,
    with its feed's country prior from `countries` (feed name -> ISO code).

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
    for result in results:
        metrics.CLASSIFY_DURATION.observe(each)
        metrics.HEADLINES_CLASSIFIED.labels(
            result.topics[0].label if result.topics else "none").inc()
        for region in result.region_names:
            metrics.HEADLINES_BY_REGION.labels(region).inc()
    return [ClassifiedHeadline.model_validate({**h.model_dump(), **r.to_dict()}, strict=False)
            for h, r in zip(headlines, results, strict=True)]


def _classify_one(classifier: Classifier, headline: Headline,
                  prior: str | None) -> Classification:
    try:
        return classifier.classify(headline.title, headline.summary, prior)
    except Exception as exc:  # a bad headline must not stop the stream
        log_event(log, logging.ERROR, "classify_failed", exc_info=True, id=headline.id,
                  feed=headline.feed, error=repr(exc))
        return Classification([], [], [], "und", classifier.version)


@app.agent(headlines_topic)
async def classify_headlines(headlines) -> None:  # noqa: ANN001 -- a Faust stream
    # Building the gazetteer takes seconds: off the event loop, so heartbeats go on.
    classifier = await asyncio.get_running_loop().run_in_executor(None, shared_classifier)
    # Batches: the topic model scores a batch at once. A batch is what has arrived within
    # BATCH_WAIT, at most BATCH_SIZE headlines, so a lone headline waits BATCH_WAIT at most.
    async for events in headlines.take_events(BATCH_SIZE, within=BATCH_WAIT):
        records = classify_headlines_batch(classifier, [event.value for event in events],
                                           feed_countries())
        for event, record in zip(events, records, strict=True):
            await classified_topic.send(key=event.key, value=record)
