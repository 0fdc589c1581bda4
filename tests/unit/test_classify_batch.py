"""The classify stage's batch: a batch the classifier fails on is classified headline by
headline, a headline that still fails goes on unclassified with its error logged, and one
whose classified record cannot be encoded is dead-lettered; the others go on. The shared
classifier is loaded once per process and frozen out of the garbage collector's way."""

from __future__ import annotations

import base64
import functools
import gc
import logging

from aiokafka import TopicPartition

from agents.classify import agent
from agents.classify.agent import classify_headlines_batch, shared_classifier
from agents.classify.classifier import Classification, Classifier, CountryMatch
from streams.batch_stage import StageRecord
from streams.records import ClassifiedHeadline, DeadLetter, Headline
from streams.topics import CLASSIFIED, DEAD_LETTERS, HEADLINES


class OneBadHeadline:
    """Fails on any batch, and on the headline titled "poison" alone."""

    version = "1.2.0-test"

    def classify_many(self, pairs: list, priors: list | None = None) -> list[Classification]:
        raise ValueError("a batch with a bad headline")

    def classify(self, title: str, summary: str = "", country: str | None = None
                 ) -> Classification:
        if title == "poison":
            raise ValueError("cannot read this one")
        return Classification([], [CountryMatch(country or "AZ", "Azerbaijan", 1.0, [title])],
                              [], "en", self.version)


def headline(number: int, title: str) -> Headline:
    return Headline(id=f"h-{number}", feed="wire", source="example.com", title=title,
                    summary="", url=f"https://example.com/{number}", published=None,
                    fetched_at="2026-01-01T00:00:00+00:00")


def test_a_failed_batch_is_classified_one_by_one_and_the_bad_headline_goes_on(caplog) -> None:
    batch = [headline(1, "Baku talks"), headline(2, "poison"), headline(3, "Ganja news")]
    with caplog.at_level(logging.ERROR, logger="agents.classify.agent"):
        records = classify_headlines_batch(OneBadHeadline(), batch, {"wire": "GE"})
    assert [r.id for r in records] == ["h-1", "h-2", "h-3"]  # nothing lost, order kept
    assert [[c.code for c in r.countries] for r in records] == [["GE"], [], ["GE"]]
    assert records[1].language == "und" and records[1].classifier_version == "1.2.0-test"
    assert "classify_failed id=h-2 feed=wire" in caplog.text


class Unencodable(OneBadHeadline):
    """Classifies one at a time like OneBadHeadline; "odd" gets a language that is no text."""

    def classify(self, title: str, summary: str = "", country: str | None = None
                 ) -> Classification:
        result = super().classify(title, summary, country)
        if title == "odd":
            result.language = object()  # type: ignore[assignment]
        return result


def stage_records(*titles: str) -> list[StageRecord]:
    return [StageRecord(f"h-{n}", headline(n, title), 100 + n, 1_700_000_000_000)
            for n, title in enumerate(titles)]


async def test_the_stage_forwards_every_headline_and_dead_letters_an_unencodable_one(
        monkeypatch, caplog) -> None:
    monkeypatch.setattr(agent, "shared_classifier", functools.cache(Unencodable))
    monkeypatch.setattr(agent, "feed_countries", lambda: {"wire": "GE"})
    tp = TopicPartition(HEADLINES, 3)
    with caplog.at_level(logging.WARNING):
        outputs = await agent.classify_records(
            tp, stage_records("Baku talks", "poison", "odd", "Ganja news"))
    assert [(o.topic, o.key) for o in outputs] == [
        (CLASSIFIED, "h-0"), (CLASSIFIED, "h-1"), (DEAD_LETTERS, HEADLINES), (CLASSIFIED, "h-3")]
    classified = [ClassifiedHeadline.model_validate_json(o.value) for o in outputs
                  if o.topic == CLASSIFIED]  # the wire shape of the topic's contract
    assert [[c.code for c in r.countries] for r in classified] == [["GE"], [], ["GE"]]
    assert classified[1].language == "und"  # the poison headline goes on unclassified
    letter = DeadLetter.model_validate_json(outputs[2].value)
    assert (letter.topic, letter.partition, letter.offset) == (HEADLINES, 3, 102)
    assert Headline.model_validate_json(base64.b64decode(letter.value_base64)).title == "odd"
    assert "classify_failed id=h-1" in caplog.text
    assert f"dead_letter topic={HEADLINES} partition=3 offset=102" in caplog.text


def test_the_shared_classifier_is_loaded_once_and_kept_out_of_the_collector(monkeypatch):
    """Its objects leave the collector's generations (gc.freeze): full collections would
    otherwise walk the half a million gazetteer objects again and again."""
    loaded = [{"gazetteer": ["names"]}]  # stands for the classifier: tracked by the collector
    monkeypatch.setattr(Classifier, "load", classmethod(lambda cls: loaded[0]))
    shared_classifier.cache_clear()
    try:
        assert gc.is_tracked(loaded[0])
        assert shared_classifier() is loaded[0] and shared_classifier() is loaded[0]
        assert not any(o is loaded[0] for o in gc.get_objects())  # in no generation: frozen
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        shared_classifier.cache_clear()
