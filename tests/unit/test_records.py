"""The topic contracts: wire bytes unchanged by the types, and what each type turns away."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faust.types import Message
from pydantic import ValidationError

from agents.alerts.matcher import match_rule
from agents.alerts.records import build_alert, build_surge_alert
from agents.alerts.rules import Rule, load_rules
from agents.alerts.stories import StoryAssignment
from agents.alerts.surge import Surge
from agents.classify.agent import classify_headlines_batch
from agents.classify.classifier import Classification, CountryMatch, RegionMatch, TopicScore
from streams.contract_topic import (
    MAX_DEAD_VALUE_BYTES,
    ContractViolation,
    RawRecord,
    dead_letter,
    decode_value,
    encode_value,
    raw_record,
)
from streams.display import dumps, format_alert
from streams.records import (
    ALERT_FIELDS,
    DEAD_LETTER_REASONS,
    SEVERITIES,
    Alert,
    AlertCandidate,
    ClassifiedHeadline,
    DeadLetter,
    Headline,
    LiveRule,
    PollTick,
)
from streams.topics import (
    TOPICS,
    alert_candidates_topic,
    alerts_dead_topic,
    alerts_topic,
    classified_topic,
    headlines_topic,
    poll_ticks_topic,
)

#: Each record as the code before the contracts put it on the wire (see the file's note).
BEFORE = json.loads(
    (Path(__file__).parents[1] / "data" / "records" / "wire_before.json").read_text("utf-8"))
NOW = datetime(2024, 5, 1, 16, 2, 41, 500000, tzinfo=UTC)


def wire(topic, value) -> bytes:
    return topic.prepare_value(value, None)[0]


class StubClassifier:
    version = "1.2.0-abc"

    def classify_many(self, pairs: list, countries: list | None = None) -> list[Classification]:
        return [
            Classification(
                [TopicScore("medtop:16000000", "conflict/war/peace", 0.91,
                            ["peacekeepers", "model:mines"]),
                 TopicScore("medtop:11000000", "politics", 0.125, [])],
                [CountryMatch("AZ", "Azerbaijan", 1.0, ["Karabakh", "Ağdam"])],
                [RegionMatch("Western Asia", "m49", ["AZ"], []),
                 RegionMatch("South Caucasus", "geopolitical", ["AZ"], ["Karabakh"])],
                "en", self.version),
            Classification([], [], [], "und", self.version),
        ]


def records_now() -> dict[str, bytes]:
    """The records of ``wire_before.json``, made by today's code and encoded by its topics."""
    h = Headline(id="h-1", feed="caliber-latest", source="caliber.az",
                 title="Peacekeepers leave Karabakh — “mines” cleared in Ağdam",
                 url="https://caliber.az/post/1?x=1", summary="Zürich talks, 5 € per ton",
                 published="2024-05-01T16:02:00Z", fetched_at="2024-05-01T16:02:41.5+00:00")
    h2 = Headline(id="h-2", feed="f", source="s", title="Pipeline gas LNG", url="https://s/2",
                  summary="", published=None, fetched_at="2024-05-01T16:03:00+00:00")
    classified = classify_headlines_batch(StubClassifier(), [h, h2])
    rules = load_rules([
        {"name": "peacekeepers", "any": ["peacekeeper*"], "severity": "high"},
        {"name": "energy", "weighted": {"pipeline": 2, "gas": 1, "LNG": 2}, "threshold": 3},
    ], source="t")
    first, second = (c.model_dump() for c in classified)
    m1, m2 = match_rule(rules[0], first), match_rule(rules[1], second)
    story = StoryAssignment("story-1", True, 1, True, None, NOW)
    later = StoryAssignment("story-1", False, 2, True, "url", NOW)
    alert = build_alert(m1, first, story, detected_at=NOW)
    surge = Surge("rule:peacekeepers", "2024-05-01T15:52:00+00:00", "2024-05-01T16:02:00+00:00",
                  9, [1, 2, 0, 3, 1, 2, 0, 0, 0, 0], [0, 1, 0, 2, 1, 0], 0.667, 0.745, 3.117)
    surge_alert = build_surge_alert(surge, rule="peacekeepers", severity="high", detected_at=NOW)
    failed = {"sink": "team-slack", "error": "HTTP 500: oops", "attempts": 3, "status": 500,
              "failed_at": "2024-05-01T16:03:00+00:00"}
    return {
        "headline": wire(headlines_topic, h),
        "headline_unpublished": wire(headlines_topic, h2),
        "poll_tick": wire(poll_ticks_topic, PollTick(feed="caliber-latest", sent_at=1733333333.25)),
        "classified": wire(classified_topic, classified[0]),
        "classified_empty": wire(classified_topic, classified[1]),
        "candidate": wire(alert_candidates_topic,
                          AlertCandidate(headline=classified[0], matches=[m1])),
        "candidate_weighted": wire(alert_candidates_topic,
                                   AlertCandidate(headline=classified[1], matches=[m2])),
        "candidate_none": wire(alert_candidates_topic,
                               AlertCandidate(headline=classified[1], matches=[])),
        "alert": wire(alerts_topic, alert),
        "alert_update": wire(alerts_topic,
                             build_alert(m1, first, later, detected_at=NOW, update=True)),
        "alert_weighted": wire(alerts_topic, build_alert(m2, second, story, detected_at=NOW)),
        "alert_surge": wire(alerts_topic, surge_alert),
        # deliver_alerts hands sinks the alert as its topic decoded it.
        "alert_dead": wire(alerts_dead_topic, {
            "alert": decode_value(Alert, wire(alerts_topic, alert)).model_dump(mode="json"),
            **failed}),
        "alert_dead_timeout": wire(alerts_dead_topic, {
            "alert": decode_value(Alert, wire(alerts_topic, surge_alert)).model_dump(mode="json"),
            **failed, "error": "timed out after 5s", "attempts": 4, "status": None,
            "sink": "s"}),
    }


NOW_RECORDS = records_now()


@pytest.mark.parametrize("name", sorted(NOW_RECORDS))
def test_wire_bytes_are_those_before_the_contracts(name):
    assert NOW_RECORDS[name] == base64.b64decode(BEFORE[name])


@pytest.mark.parametrize("name", sorted(NOW_RECORDS))
def test_every_record_decodes_as_its_topic_type_and_encodes_back_the_same(name):
    topic = {"headline": headlines_topic, "poll": poll_ticks_topic,
             "classified": classified_topic, "candidate": alert_candidates_topic,
             "alert": alerts_topic}[name.split("_")[0]]
    if name.startswith("alert_dead"):
        topic = alerts_dead_topic
    value_type = topic.schema.value_type
    record = decode_value(value_type, NOW_RECORDS[name])
    assert isinstance(record, value_type)
    assert encode_value(value_type, record) == NOW_RECORDS[name]


def test_every_topic_has_its_type():
    types = {spec.suffix: topic.schema.value_type for spec, topic in TOPICS}
    assert types == {
        "dead": DeadLetter, "poll-ticks": PollTick, "headlines": Headline,
        "classified": ClassifiedHeadline, "alert-candidates": AlertCandidate,
        "alerts": Alert, "alerts.dead": alerts_dead_topic.schema.value_type,
        "rules": LiveRule,
    }
    for spec, topic in TOPICS:
        assert topic.get_topic_name() == f"wirewatch.{spec.suffix}"


def test_severities_and_alert_fields_come_from_the_types():
    assert SEVERITIES == ("info", "low", "medium", "high", "critical")
    assert Rule.model_fields["severity"].annotation == Alert.model_fields["severity"].annotation
    alert = json.loads(NOW_RECORDS["alert"])
    assert tuple(alert) == ALERT_FIELDS  # every field, in wire order; no `surge` on matches
    assert tuple(json.loads(NOW_RECORDS["alert_surge"])) == (*ALERT_FIELDS, "surge")


@pytest.mark.parametrize(("raw", "reason", "error"), [
    (b'[{"feed": "a", "sent_at": 1}]', "not_object", "value: Input should be an object"),
    (b'{"sent_at": 1}', "missing_field", "feed: Field required"),
    (b'{"feed": 5, "sent_at": 1}', "wrong_type", "feed: Input should be a valid string"),
    (b'{"feed": "a", "sent_at": "1"}', "wrong_type", "sent_at: Input should be a valid number"),
    (b"feed=a", "not_json", "Invalid JSON"),
    (b'{"feed": "\xff"}', "not_utf8", "Invalid JSON"),
    (None, "empty", "the record has no value"),
])
def test_a_record_that_breaks_its_type_is_named_with_its_reason(raw, reason, error):
    with pytest.raises(ContractViolation) as caught:
        decode_value(PollTick, raw)
    assert caught.value.reason == reason and reason in DEAD_LETTER_REASONS
    assert error in caught.value.error


def test_errors_name_nested_fields_and_never_the_values():
    alert = {**json.loads(NOW_RECORDS["alert"]), "severity": "apocalyptic", "update": "yes",
             "sources_count": "secret-token"}
    with pytest.raises(ContractViolation) as caught:
        decode_value(Alert, json.dumps(alert).encode())
    assert caught.value.reason == "invalid_value"
    assert caught.value.error.startswith("severity: Input should be 'info', 'low',")
    assert "update: Input should be a valid boolean" in caught.value.error
    assert "secret-token" not in caught.value.error
    candidate = json.loads(NOW_RECORDS["candidate"])
    candidate["matches"][0]["matched"][0]["start"] = "0"
    with pytest.raises(ContractViolation) as caught:
        decode_value(AlertCandidate, json.dumps(candidate).encode())
    assert caught.value.error == "matches.0.matched.0.start: Input should be a valid integer"


def test_unknown_fields_pass_through_in_order():
    raw = b'{"feed":"a","sent_at":1.5,"priority":"high"}'
    tick = decode_value(PollTick, raw)
    assert tick.feed == "a" and encode_value(PollTick, tick) == raw


def test_a_producer_cannot_send_a_record_that_breaks_the_type():
    with pytest.raises(ValidationError, match="severity"):
        wire(alerts_topic, {**json.loads(NOW_RECORDS["alert"]), "severity": "urgent"})
    with pytest.raises(ValidationError, match="headline"):
        wire(alert_candidates_topic, {"matches": []})


def message(value: bytes | None, key: bytes | None = b"k") -> RawRecord:
    return raw_record(Message("wirewatch.alerts", 3, 1234, 1714579361.5, 0, {}, key, value,
                              None))


def test_dead_letter_keeps_place_reason_and_original_bytes():
    letter = dead_letter(message(b"\xff\xfe{", key=b"\xffkey"), "not_utf8", "Invalid JSON")
    assert (letter.topic, letter.partition, letter.offset) == ("wirewatch.alerts", 3, 1234)
    assert letter.timestamp_ms == 1714579361500
    assert base64.b64decode(letter.value_base64) == b"\xff\xfe{"
    assert base64.b64decode(letter.key_base64) == b"\xffkey"
    assert letter.value_truncated is False
    assert decode_value(DeadLetter, encode_value(DeadLetter, letter)) == letter
    tombstone = dead_letter(message(None, key=None), "empty", "no value")
    assert tombstone.value_base64 is None and tombstone.key_base64 is None


def test_dead_letter_of_a_huge_record_stays_under_kafkas_limit():
    huge = b"x" * (3 * MAX_DEAD_VALUE_BYTES)
    letter = dead_letter(message(huge), "not_json", "Invalid JSON")
    assert letter.value_truncated is True
    assert base64.b64decode(letter.value_base64) == huge[:MAX_DEAD_VALUE_BYTES]
    assert len(encode_value(DeadLetter, letter)) < 1_000_000


PRINTED = [name for name in sorted(NOW_RECORDS)  # the topics that commands print
           if name.startswith(("headline", "alert")) and not name.startswith("alert_dead")]


@pytest.mark.parametrize("name", PRINTED)
def test_cli_prints_what_it_printed_before_the_types(name):
    """`wirewatch headlines|alerts --json` and the one-line alert form, from the typed record."""
    topic = alerts_topic if name.startswith("alert") else headlines_topic
    raw = base64.b64decode(BEFORE[name])
    record = decode_value(topic.schema.value_type, raw)
    assert dumps(record) == dumps(json.loads(raw))
    if topic is alerts_topic:
        assert format_alert(record.model_dump(mode="json")) == format_alert(json.loads(raw))


@pytest.mark.parametrize("number", [1e-05, 0.30000000000000004, 1e16, 1733333333.25, -0.0])
def test_numbers_keep_their_value_on_the_wire(number):
    raw = encode_value(PollTick, PollTick(feed="a", sent_at=number))
    assert json.loads(raw) == {"feed": "a", "sent_at": number}
