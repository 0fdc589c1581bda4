"""The classify agent: wirewatch.headlines -> wirewatch.classified (same key).

Each headline is published again with its topics, countries, regions, language
and classifier version. A headline the classifier fails on is still forwarded,
unclassified, with the error logged: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import cache

from agents.classify.classifier import Classification, Classifier
from streams import metrics
from streams.app import app
from streams.records import Headline
from streams.topics import classified_topic, headlines_topic

log = logging.getLogger(__name__)


@cache
def shared_classifier() -> Classifier:
    """Loaded once per process (building the gazetteer takes a moment)."""
    return Classifier.load()


def classify_headline(classifier: Classifier, headline: Headline) -> dict:
    """The classified record: the headline's fields plus the classification's."""
    started = time.perf_counter()
    result = classifier.classify(headline.title, headline.summary)
    metrics.CLASSIFY_DURATION.observe(time.perf_counter() - started)
    metrics.HEADLINES_CLASSIFIED.labels(
        result.topics[0].label if result.topics else "none").inc()
    for region in result.region_names:
        metrics.HEADLINES_BY_REGION.labels(region).inc()
    return {**headline.asdict(), **result.to_dict()}


@app.agent(headlines_topic)
async def classify_headlines(headlines) -> None:  # noqa: ANN001 -- a Faust stream
    # Building the gazetteer takes seconds: off the event loop, so heartbeats go on.
    classifier = await asyncio.get_running_loop().run_in_executor(None, shared_classifier)
    async for key, headline in headlines.items():
        try:
            record = classify_headline(classifier, headline)
        except Exception as exc:  # a bad headline must not stop the stream
            log.exception("classify_failed id=%s feed=%s error=%r", headline.id, headline.feed,
                          exc)
            unclassified = Classification([], [], [], "und", classifier.version)
            record = {**headline.asdict(), **unclassified.to_dict()}
        await classified_topic.send(key=key, value=record)
