"""Compiled watch-list matcher: many rules against one classified headline, fast.

Text is folded once per headline: Unicode NFKD, combining marks dropped, casefolded (so
``Nagorno-Karabakh``, ``NAGORNO KARABAKH`` and ``Nagórno-Karabakh`` read the same), then
split into words - runs of Unicode letters and digits; everything else (spaces,
punctuation, ``_``) separates words. A term is a word sequence that must occur as
consecutive words (``COP-29`` matches ``COP 29``, never ``COP290``); a trailing ``*``
makes the last word a prefix. Scripts written without spaces (Chinese, Japanese, Thai)
form long words, so terms in them only match whole runs.

All distinct terms of all rules sit in one index keyed by their first word (exact words in
a dict, wildcard prefixes in a dict probed by length), so a headline costs one pass over
its words plus work for the rules whose terms actually occur; ``regex`` rules are searched
separately on the original text (case-insensitive). Spans in results point into the
original title or summary.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.alerts.regex import RegexSet, compile_regex

if TYPE_CHECKING:
    from agents.alerts.rules import Rule

FIELDS = ("title", "summary")
_WORD = re.compile(r"[^\W_]+")


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding one character: NFKD, marks dropped, casefolded."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        self[code] = folded
        return folded


class _OddTable(dict[int, int | None]):
    """``str.translate`` table deleting characters that fold to exactly one character."""

    def __missing__(self, code: int) -> int | None:
        value = None if len(_FOLD[code]) == 1 else code
        self[code] = value
        return value


_FOLD = _FoldTable()
_ODD = _OddTable()


def _fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Folded text and, unless it has the same length, the original index of every character."""
    if text.isascii():
        return text.lower(), None
    folded = text.translate(_FOLD)
    if not text.translate(_ODD):  # every character folded to one: offsets are unchanged
        return folded, None
    offsets: list[int] = []
    for index, ch in enumerate(text):
        offsets.extend([index] * len(_FOLD[ord(ch)]))
    return folded, offsets


def fold(text: str) -> str:
    """``text`` without case or accents (NFKD, combining marks removed, casefolded)."""
    return _fold_with_offsets(text)[0]


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return _WORD.findall(fold(text))


def term_tokens(term: str) -> tuple[str, ...]:
    """The folded words of a rule term (a trailing ``*`` is not part of them)."""
    return tuple(words(term.rstrip().removesuffix("*")))


@dataclass(frozen=True, slots=True)
class MatchedTerm:
    """One occurrence: the rule's term, where it is, and the original text it covers."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a headline; ``score`` is the weighted sum for weighted rules."""

    rule: str
    severity: str
    matched: tuple[MatchedTerm, ...]
    score: float | None = None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    text: str
    tokens: list[str]
    spans: list[tuple[int, int]]

    def matched(self, term: str, occurrence: _Occurrence) -> MatchedTerm:
        start, end = self.spans[occurrence.first][0], self.spans[occurrence.last][1]
        return MatchedTerm(term, self.name, start, end, self.text[start:end])


def _tokenise(name: str, text: str) -> _Field:
    folded, offsets = _fold_with_offsets(text)
    tokens, spans = [], []
    for m in _WORD.finditer(folded):
        tokens.append(m.group())
        if offsets is None:
            spans.append(m.span())
        else:
            # end at the next kept character, so dropped combining marks stay in the span
            end = offsets[m.end()] if m.end() < len(offsets) else len(text)
            spans.append((offsets[m.start()], end))
    return _Field(name, text, tokens, spans)


@dataclass(frozen=True, slots=True)
class _Occurrence:
    field: int  # index into the headline's fields
    first: int  # word index of the term's first word
    last: int  # word index of its last word


@dataclass(frozen=True, slots=True)
class _Term:
    tokens: tuple[str, ...]
    prefix: bool

    def occurs_at(self, tokens: Sequence[str], i: int) -> bool:
        """Whether the words after the first (already checked) match from ``tokens[i]``."""
        n = len(self.tokens)
        if i + n > len(tokens):
            return False
        for k in range(1, n):
            word = tokens[i + k]
            want = self.tokens[k]
            if not (word.startswith(want) if self.prefix and k == n - 1 else word == want):
                return False
        return True


def _folded_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


class _CompiledRule:
    """A rule with its terms replaced by ids into the matcher's term table."""

    def __init__(self, rule: Rule, term_id: Mapping[str, int]) -> None:
        self.rule = rule
        self.any_ids = [term_id[t] for t in rule.any_terms]
        self.all_ids = [term_id[t] for t in rule.all_terms]
        self.not_ids = [term_id[t] for t in rule.not_terms]
        self.weights: dict[int, float] = {}
        for term, weight in rule.weighted.items():  # same term twice: the last spelling wins
            self.weights[term_id[term]] = weight
        self.spelling = {term_id[t]: t for t in (*rule.any_terms, *rule.all_terms, *rule.weighted)}
        self.regex = compile_regex(rule.regex) if rule.regex else None
        self.filters = [
            (key, _folded_set(values))
            for key, values in (
                ("feeds", rule.feeds),
                ("topics", rule.topics),
                ("regions", rule.regions),
                ("countries", rule.countries),
            )
            if values
        ]


def _headline_facets(headline: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Case-folded filter values of a headline: feed, topic labels and codes, regions, countries."""

    def values(items: object, *keys: str) -> frozenset[str]:
        if not isinstance(items, list):
            return frozenset()
        return frozenset(
            value.casefold()
            for item in items
            if isinstance(item, Mapping)
            for key in keys
            if isinstance(value := item.get(key), str)
        )

    feed = headline.get("feed")
    return {
        "feeds": frozenset({feed.casefold()} if isinstance(feed, str) else ()),
        "topics": values(headline.get("topics"), "label", "code"),
        "regions": values(headline.get("regions"), "name"),
        "countries": values(headline.get("countries"), "code", "name"),
    }


def _within(groups: list[list[_Occurrence]], near: int) -> bool:
    """Whether one occurrence from every group lies in one field with first words <= near apart."""
    events = sorted((o.field, o.first, g) for g, occs in enumerate(groups) for o in occs)
    need = len(groups)
    counts = [0] * need
    covered = 0
    lo = 0
    for field, first, group in events:
        counts[group] += 1
        covered += counts[group] == 1
        while events[lo][0] != field or first - events[lo][1] > near:
            g = events[lo][2]
            counts[g] -= 1
            covered -= counts[g] == 0
            lo += 1
        if covered == need:
            return True
    return False


class Matcher:
    """All live rules compiled together; rebuild it when the rule set changes."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._terms: list[_Term] = []
        term_id: dict[str, int] = {}
        by_key: dict[tuple[tuple[str, ...], bool], int] = {}
        rules = list(rules)
        for rule in rules:
            for term in (*rule.any_terms, *rule.all_terms, *rule.not_terms, *rule.weighted):
                key = (term_tokens(term), term.rstrip().endswith("*"))
                if key not in by_key:
                    by_key[key] = len(self._terms)
                    self._terms.append(_Term(*key))
                term_id[term] = by_key[key]
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._prefix: dict[str, list[int]] = defaultdict(list)
        for tid, term in enumerate(self._terms):
            if term.prefix and len(term.tokens) == 1:
                self._prefix[term.tokens[0]].append(tid)
            else:
                self._exact[term.tokens[0]].append(tid)
        self._prefix_lengths = sorted({len(p) for p in self._prefix})
        self._rules = [_CompiledRule(rule, term_id) for rule in rules]
        self._rules_by_term: dict[int, list[int]] = defaultdict(list)
        for index, compiled in enumerate(self._rules):
            for tid in {*compiled.any_ids, *compiled.all_ids, *compiled.weights}:
                self._rules_by_term[tid].append(index)
        # regex-only rules: one RE2 set says which of them can match a headline
        self._regex_rules = [i for i, c in enumerate(self._rules) if c.regex and not c.spelling]
        self._regex_set = RegexSet([self._rules[i].rule.regex or "" for i in self._regex_rules])

    def __len__(self) -> int:
        return len(self._rules)

    def _occurrences(self, fields: list[_Field]) -> dict[int, list[_Occurrence]]:
        found: dict[int, list[_Occurrence]] = defaultdict(list)
        exact, prefix, lengths, terms = self._exact, self._prefix, self._prefix_lengths, self._terms
        for f, field in enumerate(fields):
            tokens = field.tokens
            for i, token in enumerate(tokens):
                for tid in exact.get(token, ()):
                    term = terms[tid]
                    if len(term.tokens) == 1 or term.occurs_at(tokens, i):
                        found[tid].append(_Occurrence(f, i, i + len(term.tokens) - 1))
                for length in lengths:
                    if length > len(token):
                        break
                    for tid in prefix.get(token[:length], ()):
                        found[tid].append(_Occurrence(f, i, i))
        return found

    def match(self, headline: Mapping[str, Any]) -> list[Match]:
        """Every rule that matches ``headline`` (a classified headline dict), in rule order."""
        fields = [_tokenise(name, headline.get(name) or "") for name in FIELDS]
        found = self._occurrences(fields)
        regex_hits = self._regex_set.search(f.text for f in fields) if self._regex_rules else ()
        candidates = {self._regex_rules[i] for i in regex_hits}
        for tid in found:
            candidates.update(self._rules_by_term.get(tid, ()))
        facets = _headline_facets(headline) if candidates else {}
        matches = []
        for index in sorted(candidates):
            result = self._evaluate(self._rules[index], fields, found, facets)
            if result is not None:
                matches.append(result)
        return matches

    def _evaluate(
        self,
        rule: _CompiledRule,
        fields: list[_Field],
        found: dict[int, list[_Occurrence]],
        facets: dict[str, frozenset[str]],
    ) -> Match | None:
        if any(values.isdisjoint(facets[key]) for key, values in rule.filters):
            return None
        if any(t in found for t in rule.not_ids):
            return None
        if not all(t in found for t in rule.all_ids):
            return None
        if rule.any_ids and not any(t in found for t in rule.any_ids):
            return None
        score = None
        if rule.weights:
            score = sum(w for t, w in rule.weights.items() if t in found)
            if score < (rule.rule.threshold or 0):
                return None
        regex_hits: list[MatchedTerm] = []
        if rule.regex:
            regex_hits = [
                MatchedTerm(rule.regex.pattern, f.name, m.start(), m.end(), m.group())
                for f in fields
                if (m := rule.regex.search(f.text))
            ]
            if not regex_hits:
                return None
        if rule.rule.near is not None:
            groups = [found[t] for t in rule.all_ids]
            if rule.any_ids:
                groups.append([o for t in rule.any_ids for o in found.get(t, ())])
            if not _within(groups, rule.rule.near):
                return None
        hits = [
            fields[o.field].matched(spelling, o)
            for tid, spelling in rule.spelling.items()
            for o in found.get(tid, ())
        ]
        matched = sorted(hits + regex_hits, key=lambda m: (FIELDS.index(m.field), m.start, m.end))
        return Match(rule.rule.name, rule.rule.severity, tuple(matched), score)


def match_rule(rule: Rule, headline: Mapping[str, Any]) -> Match | None:
    """The match of a single ``rule`` against ``headline``, or None (e.g. for dry runs)."""
    matches = Matcher([rule]).match(headline)
    return matches[0] if matches else None
