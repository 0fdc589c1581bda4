"""Rule and sink validation: every problem named by rule and field, never half-loaded."""

from datetime import timedelta
from typing import get_args

import pytest

from agents.alerts.records import SEVERITIES
from agents.alerts.rules import (
    Rule,
    RuleError,
    Severity,
    load_rules,
    parse_duration,
    rule_from_json,
    rule_to_json,
)
from agents.alerts.sink_kinds import load_sinks

EXAMPLE = [
    {"name": "peacekeepers", "any": ["peacekeeper*", "peacekeeping"], "severity": "high"},
    {"name": "cop29", "any": ["COP29", "COP 29", "COP-29"], "not": ["COP290"]},
    {
        "name": "karabakh-security",
        "all": ["Karabakh"],
        "any": ["mine*", "troops", "withdraw*", "ceasefire"],
        "near": 8,
        "regions": ["South Caucasus"],
        "topics": ["conflict/war/peace"],
        "feeds": ["caliber-latest"],
    },
    {
        "name": "energy-weighted",
        "weighted": {"pipeline": 2, "gas": 1, "LNG": 2, "Shah Deniz": 3},
        "threshold": 3,
        "cooldown": "10m",
    },
]


def problems(raw, **kwargs) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_rules(raw, source="wirewatch.yaml", **kwargs)
    return info.value.problems


def test_example_rules_load_with_defaults():
    rules = load_rules(EXAMPLE, source="wirewatch.yaml")
    assert [r.name for r in rules] == [rule["name"] for rule in EXAMPLE]
    assert rules[0].severity == "high"
    assert rules[1].severity == "medium"
    assert rules[1].not_terms == ("COP290",)
    assert rules[2].near == 8
    assert rules[3].cooldown_delta == timedelta(minutes=10)
    assert rules[0].cooldown_delta is None


def test_severity_literal_and_order_agree():
    assert get_args(Severity) == SEVERITIES


def test_error_names_file_index_rule_and_field():
    bad = [*EXAMPLE[:2], {**EXAMPLE[2], "near": 0}]
    assert problems(bad) == [
        "wirewatch.yaml: rules[2] 'karabakh-security': near: must be a positive integer"
    ]


def test_every_problem_is_listed_across_rules():
    raw = [
        {"name": "a b", "any": ["x*y"]},
        {"name": "w", "weighted": {"gas": 1}},
        "not a mapping",
        {"name": "r", "any": ["ok"], "regex": "(", "severity": "huge", "cooldown": "5x"},
        {"name": "w", "regex": "ok", "colour": "red"},
    ]
    found = problems(raw)
    expected_fragments = [
        "rules[0] 'a b': name:",
        "rules[0] 'a b': any: 'x*y': '*' is only allowed at the end",
        "rules[1] 'w': threshold: required with weighted",
        "rules[2]: must be a mapping, not str",
        "rules[3] 'r': regex: invalid regular expression",
        "rules[3] 'r': severity:",
        "rules[3] 'r': cooldown: '5x' is not a duration",
        "rules[4] 'w': name: duplicate name (first used by rules[1])",
        "rules[4] 'w': colour: Extra inputs are not permitted",
    ]
    for fragment in expected_fragments:
        assert any(fragment in p for p in found), (fragment, found)
    assert len(found) == len(expected_fragments)
    assert all(p.startswith("wirewatch.yaml: rules[") for p in found)


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"severity": "high"}, "(rule): needs at least one of any, all, weighted or regex"),
        ({"any": ["x"], "threshold": 2}, "threshold: only allowed with weighted"),
        ({"weighted": {"x": 1}, "threshold": 0}, "threshold: Input should be greater than 0"),
        ({"weighted": {"x": 0}, "threshold": 1}, "weighted: weights must not be zero: 'x'"),
        ({"any": ["a", "b"], "near": 3}, "near: needs 'all' terms"),
        ({"all": ["a"], "near": 3}, "near: needs 'all' terms"),
        ({"all": ["a", "b"], "near": "3"}, "near: Input should be a valid integer"),
        ({"any": ["p*"]}, "'p*': '*' needs at least 2 letters or digits"),
        ({"any": ["peace *"]}, "'*' needs at least 2 letters or digits"),
        ({"any": ["--"]}, "'--': a term needs at least one letter or digit"),
        ({"any": [""]}, "any[0]: String should have at least 1 character"),
        ({"any": "COP29"}, "any: Input should be a valid tuple"),
        ({"any": ["x"], "cooldown": "0m"}, "cooldown: duration '0m' must be longer than zero"),
    ],
)
def test_invalid_rule_fields(rule, fragment):
    found = problems([{"name": "r1", **rule}])
    assert any(fragment in p for p in found), found
    assert all(p.startswith("wirewatch.yaml: rules[0] 'r1': ") for p in found)


def test_unknown_topics_and_regions_are_reported_case_insensitively():
    raw = [{"name": "r", "any": ["x"], "topics": ["Conflict/War/Peace", "sport/curling"],
            "regions": ["south caucasus", "Atlantis"]}]  # fmt: skip
    found = problems(raw, known_topics={"conflict/war/peace"}, known_regions={"South Caucasus"})
    assert found == [
        "wirewatch.yaml: rules[0] 'r': topics: unknown 'sport/curling'",
        "wirewatch.yaml: rules[0] 'r': regions: unknown 'Atlantis'",
    ]


def test_section_must_be_a_list():
    with pytest.raises(RuleError, match=r"^w.yaml: rules: must be a list, not dict$"):
        load_rules({"name": "x"}, source="w.yaml")


def test_never_half_loaded():
    with pytest.raises(RuleError):
        load_rules([*EXAMPLE, {"name": "broken"}], source="w.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2d", 172800)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "1w", "1.5h", "-1m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_rule_json_round_trip():
    for rule in load_rules(EXAMPLE, source="w.yaml"):
        text = rule_to_json(rule)
        assert rule_from_json(text, key=rule.name) == rule
        assert rule_from_json(text.encode()) == rule


def test_rule_json_is_compact_and_uses_config_names():
    text = rule_to_json(Rule.model_validate(EXAMPLE[1]))
    assert text == '{"any": ["COP29", "COP 29", "COP-29"], "name": "cop29", "not": ["COP290"]}'


def test_rule_from_json_errors_name_the_key():
    with pytest.raises(RuleError, match="key 'cop29': invalid JSON"):
        rule_from_json("{nope", key="cop29")
    with pytest.raises(RuleError, match="'cop29': name: 'other' does not match the record key"):
        rule_from_json('{"name": "other", "any": ["x"]}', key="cop29")
    with pytest.raises(RuleError, match=r"key 'cop29': rules\[0\] 'cop29': near"):
        rule_from_json('{"name": "cop29", "any": ["x"], "near": -1}', key="cop29")


def test_sinks_load_and_report_problems():
    telegram = {"chat_id": "-1", "text": "$title $url"}
    raw = [
        {"name": "slack", "url": "https://hooks.example/x", "template": "$severity: $title"},
        {"name": "tg", "url": "http://127.0.0.1:9/t", "rules": ["cop29"], "template": telegram},
    ]
    sinks = load_sinks(raw, source="w.yaml", rule_names={"cop29"})
    assert [s.name for s in sinks] == ["slack", "tg"]
    assert sinks[1].rules == ("cop29",)
    assert sinks[0].max_attempts == 4

    with pytest.raises(RuleError) as info:
        load_sinks(
            [
                {"name": "a", "url": "ftp://x", "rules": ["nope"]},
                {"name": "b", "url": "https://x", "template": {"text": "$titel ${severity"}},
                {"name": "c", "url": "https://x", "timeout": 0, "min_severity": "urgent"},
            ],
            source="w.yaml",
            rule_names={"cop29"},
        )
    found = info.value.problems
    for fragment in [
        "sinks[0] 'a': rules: unknown rule 'nope'",
        "sinks[0] 'a': url: URL scheme should be 'http' or 'https'",
        "sinks[1] 'b': template: '$titel ${severity': invalid placeholder",
        "sinks[2] 'c': timeout: Input should be greater than 0",
        "sinks[2] 'c': min_severity:",
    ]:
        assert any(fragment in p for p in found), (fragment, found)
    assert len(found) == 5


def test_sink_template_unknown_placeholder():
    with pytest.raises(RuleError, match=r"sinks\[0\] 's': template: unknown placeholder \$titel"):
        load_sinks([{"name": "s", "url": "https://x", "template": "$titel"}], source="w.yaml")


def test_rulebook_applies_a_batch_of_records_and_tombstones():
    from agents.alerts.rulebook import RuleBook

    book = RuleBook()
    a, b = (Rule(name=n, any=[n]) for n in ("alpha", "beta"))
    assert book.apply([("alpha", rule_to_json(a).encode()), ("beta", rule_to_json(b).encode())])
    assert set(book.rules) == {"alpha", "beta"} and len(book.matcher) == 2
    assert not book.apply([("alpha", rule_to_json(a).encode()), ("gone", None),
                           ("bad", b"{not json")])
    assert book.apply([("alpha", None)])
    assert set(book.rules) == {"beta"} and len(book.matcher) == 1


def test_config_check_names_sink_rules_when_the_config_has_no_rules():
    from agents.alerts.commands import check_rules_and_sinks
    from streams.config import parse_config

    config = parse_config(
        "feeds: []\nsinks: [{name: s, url: 'https://x.example', rules: [cop29]}]\n", "w.yaml")
    assert check_rules_and_sinks(config, "w.yaml") == [
        (("sinks", 0, "rules"), "sinks[0] 's': rules: unknown rule 'cop29'")]


def test_rule_errors_carry_the_yaml_location_of_each_problem() -> None:
    with pytest.raises(RuleError) as info:
        load_rules([{"name": "a", "any": ["x"]}, {"name": "a", "near": 2, "any": "x"}, 7],
                   source="w.yaml")
    assert info.value.located == [
        (("rules", 1, "name"), "rules[1] 'a': name: duplicate name (first used by rules[0])"),
        (("rules", 1, "near"),
         "rules[1] 'a': near: needs 'all' terms and at least two terms (any counts as one)"),
        (("rules", 1, "any"), "rules[1] 'a': any: Input should be a valid tuple"),
        (("rules", 2), "rules[2]: must be a mapping, not int"),
    ]
    assert info.value.problems == [f"w.yaml: {message}" for _, message in info.value.located]


@pytest.mark.parametrize(
    ("regex", "fragment"),
    [
        (r"(\w)\1", r"backreferences (\1) not supported"),
        (r"(?P<w>x)(?P=w)", "backreferences (?P=name) not supported"),
        (r"Baku(?=\s)", "lookahead (?=...) not supported"),
        (r"(?<!Mr\. )Aliyev", "negative lookbehind (?<!...) not supported"),
        (r"a++", "possessive quantifiers not supported"),
        (r"x{2000}", "invalid regular expression: invalid repetition size"),
    ],
)
def test_regex_syntax_re2_cannot_run_in_linear_time_is_refused_naming_the_rule(regex, fragment):
    found = problems([{"name": "slow", "regex": regex}])
    assert len(found) == 1
    assert found[0].startswith("wirewatch.yaml: rules[0] 'slow': regex: ")
    assert fragment in found[0]
    assert "linear time" in found[0] or "invalid regular expression" in found[0]


# Each pattern backtracks for minutes to hours under Python's re on these headlines.
CATASTROPHIC = """
import json, sys
from agents.alerts.matcher import Matcher
from agents.alerts.rules import load_rules
rules = load_rules([{"name": "nested", "regex": "(a+)+$"},
                    {"name": "words", "regex": r"^(\\w+\\s?)*$"}], source="hostile.yaml")
matcher = Matcher(rules)
titles = ["a" * 70 + "!", "Officials say the talks in the capital will resume next week!",
          "aaaa", "Talks resume"]
print(json.dumps([[m.rule for m in matcher.match({"title": t})] for t in titles]))
"""


def test_catastrophic_regexes_are_accepted_and_run_in_linear_time():
    import json
    import subprocess
    import sys

    # A subprocess, so a backtracking engine fails this test by its timeout instead of
    # hanging the suite (the bound is generous: RE2 needs microseconds).
    run = subprocess.run([sys.executable, "-c", CATASTROPHIC], capture_output=True, text=True,
                         timeout=60, check=True)
    assert json.loads(run.stdout) == [[], [], ["nested", "words"], ["words"]]


def test_worker_with_config_rules_but_none_live_warns_with_the_fix(tmp_path, caplog):
    import logging

    from agents.alerts.config_rules import report_worker_rules
    from streams import metrics

    config = tmp_path / "w.yaml"
    config.write_text("feeds: []\nrules: [{name: cop29, any: [COP29]}]\n", encoding="utf-8")
    log = logging.getLogger("test.rules")
    with caplog.at_level(logging.INFO, logger="test.rules"):
        report_worker_rules(log, str(config), {})
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("rules_out_of_sync ")
    assert 'differences="not live: cop29"' in record.getMessage()
    assert "wirewatch rules apply" in record.getMessage()
    assert metrics.RULES_OUT_OF_SYNC.labels("missing")._value.get() == 1

    caplog.clear()
    config.write_text("feeds: []\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="test.rules"):
        report_worker_rules(log, str(config), {})
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "rules_none" in record.getMessage() and "raises no alerts" in record.getMessage()
    assert metrics.RULES_OUT_OF_SYNC.labels("missing")._value.get() == 0


def test_rulebook_builds_the_matcher_once_when_told_during_start_up():
    from agents.alerts.rulebook import RuleBook

    book = RuleBook()
    rules = [Rule(name=f"r{i}", any=[f"w{i}"]) for i in range(3)]
    for rule in rules:  # start-up: the topic arrives in batches
        assert book.apply([(rule.name, rule_to_json(rule).encode())], rebuild=False)
    assert len(book.matcher) == 0 and len(book.rules) == 3
    book.rebuild()
    assert [m.rule for m in book.matcher.match({"title": "w0 and w2"})] == ["r0", "r2"]


def test_check_config_names_file_line_and_rule_of_an_unsupported_regex(tmp_path):
    from streams.config import config_problems

    config = tmp_path / "w.yaml"
    config.write_text('feeds: []\nrules:\n  - name: ok\n    any: [x]\n  - name: slow\n'
                      '    regex: "^(?=.*Baku)"\n', encoding="utf-8")
    [problem] = config_problems(config)
    assert problem.startswith(f"{config}:6: rules[1] 'slow': regex: lookahead (?=...) not "
                              "supported: rule regexes run on RE2")
