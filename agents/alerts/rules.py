"""Watch-list rules: the ``rules:`` section of the config (sinks: ``sink_kinds.py``).

Rule semantics (copied into the README):

* ``any: [terms]`` - at least one term occurs; ``all: [terms]`` - every term occurs;
  ``not: [terms]`` - none may occur; ``weighted: {term: weight}`` with ``threshold`` - the sum
  of the weights of the *distinct* terms that occur is ``>= threshold`` (weights may be
  negative to down-weight); ``regex:`` - a regular expression in RE2 syntax (linear time: no
  backreferences or lookaround; see ``regex.py``), searched case-insensitively in the
  original title and summary. Every condition a rule states must
  hold; a rule needs at least one of ``any``, ``all``, ``weighted`` or ``regex``.
* Terms are words or phrases matched on word boundaries, case-, accent- and
  punctuation-insensitively (``COP-29`` = ``COP 29``); a trailing ``*`` is a word-prefix
  wildcard on the last word (``peacekeeper*``), with at least 2 characters before it.
* ``near: N`` (needs ``all``, and at least two terms counting ``any`` as one): in one field
  (title or summary) there is an occurrence of every ``all`` term, plus one of the ``any``
  terms if the rule has ``any``, whose first words are at most N words apart.
* Filters ``feeds``, ``topics`` (label like ``conflict/war/peace`` or code like
  ``medtop:16000000``), ``regions`` and ``countries`` (code or name): case-insensitive; each
  given filter must share at least one value with the headline.
* ``severity``: info < low < medium < high < critical, default medium.
* ``cooldown``: like ``30s``, ``10m``, ``1h``, ``1d`` or ``1h30m``: no new alert for the rule
  within that time of its last one.
* Names are unique and use letters, digits, ``-``, ``_`` and ``.`` (like feed names).

``load_rules`` validates a whole list and raises ``RuleError`` naming every problem with its
rule and field; nothing is ever half-loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any

from pydantic import Field, StrictInt, field_validator

from agents.alerts.config_section import (
    RULE_NAME_PATTERN,
    FieldProblem,
    Name,
    Names,
    RuleError,
    StrictModel,
    load_section,
)
from agents.alerts.folding import term_tokens
from agents.alerts.regex import compile_regex
from streams.records import Severity


def printable_name(name: str) -> str:
    """A rule name as is; a record key that is no rule name (odd bytes, spaces) quoted."""
    return name if RULE_NAME_PATTERN.fullmatch(name) else ascii(name)


_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``30s``, ``10m``, ``1h``, ``2d`` or combinations like ``1h30m``; ValueError otherwise."""
    compact = text.replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h, 1d or 1h30m")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact))
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def _term_problem(term: str) -> str | None:
    star = term.find("*")
    if star != -1 and star != len(term.rstrip()) - 1:
        return f"{term!r}: '*' is only allowed at the end of a term"
    tokens = term_tokens(term)
    if not tokens:
        return f"{term!r}: a term needs at least one letter or digit"
    if star != -1 and (term[star - 1 : star].isspace() or len(tokens[-1]) < 2):
        return f"{term!r}: '*' needs at least 2 letters or digits right before it"
    return None


def _check_terms(terms: Iterable[str]) -> None:
    problems = [p for p in map(_term_problem, terms) if p]
    if problems:
        raise ValueError("; ".join(problems))


class Rule(StrictModel):
    """One watch-list rule (see the module docstring for the semantics)."""

    name: Name
    any_terms: Names = Field(default=(), alias="any")
    all_terms: Names = Field(default=(), alias="all")
    not_terms: Names = Field(default=(), alias="not")
    near: StrictInt | None = None
    weighted: dict[str, float] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, gt=0)
    regex: str | None = None
    severity: Severity = "medium"
    cooldown: str | None = None
    feeds: Names = ()
    topics: Names = ()
    regions: Names = ()
    countries: Names = ()

    @field_validator("any_terms", "all_terms", "not_terms")
    @classmethod
    def _valid_terms(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        _check_terms(terms)
        return terms

    @field_validator("weighted")
    @classmethod
    def _valid_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        _check_terms(weights)
        zero = [term for term, weight in weights.items() if weight == 0]
        if zero:
            raise ValueError(f"weights must not be zero: {', '.join(map(repr, zero))}")
        return weights

    @field_validator("near")
    @classmethod
    def _positive_near(cls, near: int | None) -> int | None:
        if near is not None and near < 1:
            raise ValueError("must be a positive integer")
        return near

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, regex: str | None) -> str | None:
        if regex is None:
            return None
        compile_regex(regex)
        return regex

    @field_validator("cooldown")
    @classmethod
    def _valid_cooldown(cls, cooldown: str | None) -> str | None:
        if cooldown is not None:
            parse_duration(cooldown)
        return cooldown

    @property
    def cooldown_delta(self) -> timedelta | None:
        return parse_duration(self.cooldown) if self.cooldown else None


def _given(raw: dict[str, Any], key: str) -> bool:
    return raw.get(key) not in (None, "", [], {})


def _rule_problems(
    raw: dict[str, Any],
    known_topics: Collection[str] | None,
    known_regions: Collection[str] | None,
) -> list[FieldProblem]:
    """Cross-field problems of a raw rule as (field, message) (types are pydantic's job)."""
    problems: list[FieldProblem] = []
    if not any(_given(raw, key) for key in ("any", "all", "weighted", "regex")):
        problems.append((None, "(rule): needs at least one of any, all, weighted or regex"))
    if _given(raw, "weighted") and raw.get("threshold") is None:
        problems.append(("threshold", "required with weighted"))
    if raw.get("threshold") is not None and not _given(raw, "weighted"):
        problems.append(("threshold", "only allowed with weighted"))
    all_terms = raw.get("all") if isinstance(raw.get("all"), list) else []
    if raw.get("near") is not None and (not all_terms or len(all_terms) + _given(raw, "any") < 2):
        problems.append(("near", "needs 'all' terms and at least two terms (any counts as one)"))
    for field, known in (("topics", known_topics), ("regions", known_regions)):
        values = raw.get(field)
        if known is not None and isinstance(values, list):
            folded = {k.casefold() for k in known}
            unknown = [v for v in values if isinstance(v, str) and v.casefold() not in folded]
            if unknown:
                problems.append((field, f"unknown {', '.join(map(repr, unknown))}"))
    return problems


def load_rules(
    raw: Sequence[Any],
    *,
    source: str,
    known_topics: Collection[str] | None = None,
    known_regions: Collection[str] | None = None,
) -> list[Rule]:
    """Validate the raw ``rules:`` list read from ``source`` (all or nothing)."""
    return load_section(
        raw, Rule, "rules", source, lambda r: _rule_problems(r, known_topics, known_regions)
    )


def rule_to_json(rule: Rule) -> str:
    """Compact, stable JSON of ``rule`` for the compacted ``wirewatch.rules`` topic."""
    return json.dumps(
        rule.model_dump(by_alias=True, exclude_defaults=True), sort_keys=True, ensure_ascii=False
    )


def rule_from_json(value: str | bytes, *, key: str | None = None) -> Rule:
    """Parse a ``wirewatch.rules`` record; ``key`` (the record key) must equal the rule name."""
    try:
        raw = json.loads(value)
    except ValueError as exc:  # UnicodeDecodeError too: the value is not UTF-8
        raise RuleError([f"wirewatch.rules key {key!r}: invalid JSON: {exc}"]) from None
    except RecursionError:
        raise RuleError([f"wirewatch.rules key {key!r}: invalid JSON: nested too deeply"]) from None
    source = f"wirewatch.rules key {key!r}" if key is not None else "wirewatch.rules"
    rule = load_rules([raw], source=source)[0]
    if key is not None and rule.name != key:
        raise RuleError([f"{source}: name: {rule.name!r} does not match the record key"])
    return rule
