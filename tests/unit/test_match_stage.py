"""The match stage's batch: each classified headline becomes an alert candidate of the
topic's shape with the rules it matched; one the matcher fails on goes on with none."""

from __future__ import annotations

import json
import logging

import pytest
from aiokafka import TopicPartition

from agents.alerts import match_stage
from agents.alerts.rulebook import RuleBook
from streams.batch_stage import StageRecord
from streams.contract_topic import decode_value, encode_value
from streams.records import AlertCandidate, ClassifiedHeadline
from streams.topics import ALERT_CANDIDATES, CLASSIFIED

RULES = {"ceasefire": {"any": ["ceasefire"], "severity": "high"},
         "baku-talks": {"all": ["baku", "talks"], "regions": ["Caucasus"]}}


def classified(n: int, title: str) -> ClassifiedHeadline:
    return ClassifiedHeadline.model_validate({
        "id": f"h-{n}", "feed": "wire", "source": "example.com", "title": title,
        "url": f"https://example.com/{n}", "summary": "Day two — état des lieux",
        "published": None, "fetched_at": "2026-01-01T00:00:00+00:00",
        "topics": [{"code": "medtop:16000000", "label": "conflict", "score": 0.8,
                    "evidence": ["ceasefire"]}],
        "countries": [{"code": "AZ", "name": "Azerbaijan", "score": 1.0,
                       "evidence": ["Baku"]}],
        "regions": [{"name": "Caucasus", "kind": "geopolitical", "countries": ["AZ"],
                     "evidence": ["AZ"]}],
        "region_names": ["Caucasus"], "language": "en", "classifier_version": "1.2.0",
        "extra_field": {"kept": True}})


def stage_records(headlines: list[ClassifiedHeadline], first_offset: int = 0
                  ) -> list[StageRecord]:
    """The records as the stage hands them over: decoded from their bytes into dicts."""
    return [StageRecord(h.id, decode_value(ClassifiedHeadline, encode_value(ClassifiedHeadline, h),
                                           as_dicts=True), first_offset + n, None)
            for n, h in enumerate(headlines)]


@pytest.fixture
def rules(monkeypatch) -> RuleBook:
    book = RuleBook()
    book.apply([(name, json.dumps({"name": name, **rule}).encode())
                for name, rule in RULES.items()])
    monkeypatch.setattr(match_stage, "rulebook", book)
    return book


async def test_candidates_carry_their_headline_and_matches_in_the_topics_shape(rules) -> None:
    headlines = [classified(0, "Ceasefire holds as Baku talks go on"), classified(1, "Weather")]
    records = stage_records(headlines, first_offset=10)
    outputs = await match_stage.match_records(TopicPartition(CLASSIFIED, 0), records)
    assert [(o.topic, o.key) for o in outputs] == [(ALERT_CANDIDATES, "h-0"),
                                                   (ALERT_CANDIDATES, "h-1")]
    first, second = (AlertCandidate.model_validate_json(o.value) for o in outputs)
    assert first.headline == headlines[0]  # extra fields pass through
    assert sorted(m.rule for m in first.matches) == ["baku-talks", "ceasefire"]
    assert second.matches == []
    # the same JSON as the contract's own (validating) encoder writes, field for field
    for output, candidate in zip(outputs, (first, second), strict=True):
        assert json.loads(output.value) == json.loads(encode_value(AlertCandidate, candidate))
        assert list(json.loads(output.value)["headline"]) == list(
            json.loads(encode_value(ClassifiedHeadline, candidate.headline)))


class FailsOn:
    def __init__(self, title: str, matcher) -> None:
        self.title, self.matcher = title, matcher

    def match(self, headline: dict) -> list:
        if headline["title"] == self.title:
            raise RuntimeError("matcher bug")
        return self.matcher.match(headline)


async def test_a_headline_the_matcher_fails_on_goes_on_without_matches(rules, caplog) -> None:
    rules.matcher = FailsOn("Ceasefire broken", rules.matcher)
    headlines = [classified(0, "Ceasefire broken"), classified(1, "Ceasefire holds")]
    records = stage_records(headlines)
    with caplog.at_level(logging.ERROR):
        outputs = await match_stage.match_records(TopicPartition(CLASSIFIED, 0), records)
    candidates = [AlertCandidate.model_validate_json(o.value) for o in outputs]
    assert [c.headline.id for c in candidates] == ["h-0", "h-1"]
    assert [[m.rule for m in c.matches] for c in candidates] == [[], ["ceasefire"]]
    assert "match_failed id=h-0" in caplog.text
