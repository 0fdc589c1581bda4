"""Contracts checked straight into dicts (``streams.contract_dicts``): the same check and
the same data as the model types, for every record shape the wire fixture holds."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from streams.contract_dicts import contract_dict
from streams.contract_topic import ContractViolation, decode_value
from streams.records import Alert, AlertCandidate, ClassifiedHeadline, Headline, Match, PollTick

WIRE = json.loads(
    (Path(__file__).parents[1] / "data" / "records" / "wire_before.json").read_text("utf-8"))
TYPES = {"headline": Headline, "classified": ClassifiedHeadline, "candidate": AlertCandidate,
         "alert": Alert}


@pytest.mark.parametrize("name", sorted(n for n in WIRE if n.split("_")[0] in TYPES
                                        and not n.startswith("alert_dead")))
def test_dicts_hold_what_the_model_holds(name):
    value_type, raw = TYPES[name.split("_")[0]], base64.b64decode(WIRE[name])
    as_dict = decode_value(value_type, raw, as_dicts=True)
    as_model = decode_value(value_type, raw)
    assert type(as_dict) is dict
    dumped = TypeAdapter(contract_dict(value_type)).dump_python(as_dict, mode="json")
    assert dumped == as_model.model_dump(mode="json", exclude_unset=True)


def test_a_candidate_is_dicts_with_its_matches_as_match_objects():
    raw = base64.b64decode(WIRE["candidate"])
    candidate = decode_value(AlertCandidate, raw, as_dicts=True)
    assert type(candidate["headline"]) is dict
    assert type(candidate["headline"]["topics"][0]) is dict
    assert all(isinstance(match, Match) for match in candidate["matches"])
    assert candidate["matches"] == decode_value(AlertCandidate, raw).matches


def test_unknown_fields_pass_through():
    raw = b'{"feed":"a","sent_at":1.5,"priority":"high"}'
    assert decode_value(PollTick, raw, as_dicts=True) == {"feed": "a", "sent_at": 1.5,
                                                          "priority": "high"}


def _broken_candidates() -> list[bytes]:
    good = json.loads(base64.b64decode(WIRE["candidate"]))
    start_as_text = json.loads(json.dumps(good))
    start_as_text["matches"][0]["matched"][0]["start"] = "0"  # strict: no coercion
    return [
        b'[{"headline": {}}]', b'{"matches": []}', b'{"headline": 5, "matches": []}',
        json.dumps({**good, "headline": {**good["headline"], "title": None}}).encode(),
        json.dumps({**good, "matches": [{"rule": "r", "severity": "dire",
                                         "matched": []}]}).encode(),
        json.dumps(start_as_text).encode(), b"headline=x", b'{"headline": "\xff"}', None,
    ]


@pytest.mark.parametrize("raw", _broken_candidates())
def test_a_broken_record_is_turned_away_with_the_same_reason_and_error(raw):
    failures = []
    for as_dicts in (False, True):
        with pytest.raises(ContractViolation) as caught:
            decode_value(AlertCandidate, raw, as_dicts=as_dicts)
        failures.append((caught.value.reason, caught.value.error))
    (model_reason, model_error), (dict_reason, dict_error) = failures
    assert dict_reason == model_reason
    if model_reason != "not_object":  # "an object" against "a valid dictionary"
        assert dict_error == model_error
