"""Compiled watch-list matcher: many rules against one classified headline, fast.

Text is folded once per headline: Unicode NFKD, combining marks dropped, casefolded (so
``Nagorno-Karabakh``, ``NAGORNO KARABAKH`` and ``Nagórno-Karabakh`` read the same), then
split into words - runs of Unicode letters and digits; everything else (spaces,
punctuation, ``_``) separates words. A term is a word sequence that must occur as
consecutive words (``COP-29`` matches ``COP 29``, never ``COP290``); a trailing ``*``
makes the last word a prefix. Scripts written without spaces (Chinese, Japanese, Thai)
form long words, so terms in them only match whole runs.

All distinct terms of all rules are keys of one Aho-Corasick automaton over the folded words
joined by single spaces, so a field costs one pass whatever the number of rules. A rule is
checked only when a term it cannot match without occurred (see ``_CompiledRule.triggers``);
regex-only rules are found by RE2 sets (``regex.py``). Spans in results point into the
original title or summary and are worked out only for matches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import ahocorasick

from agents.alerts.folding import WORD, char_offsets, fold, term_tokens
from agents.alerts.regex import RegexSet, compile_regex
from streams.records import Match, MatchedTerm

if TYPE_CHECKING:
    from agents.alerts.rules import Rule

FIELDS = ("title", "summary")
_second = itemgetter(1)


class _Field:
    """One field of a headline: its folded words joined by single spaces, as the automaton
    reads them; spans in the original text are worked out only for a match."""

    __slots__ = ("_offsets", "_offsets_known", "_spans", "_tokens", "folded", "joined", "name",
                 "text")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.folded = folded = fold(text)
        self._tokens = tokens = WORD.findall(folded)
        self.joined = f" {' '.join(tokens)} " if tokens else ""
        self._spans: list[tuple[int, int]] = []  # of the first words in ``folded``, on demand
        self._offsets: list[int] | None = None  # see ``char_offsets``, once known
        self._offsets_known = False

    def word_index(self, position: int) -> int:
        """Index of the word that starts right after the space at ``position`` of ``joined``."""
        return self.joined.count(" ", 0, position + 1) - 1

    def _folded_span(self, index: int) -> tuple[int, int]:
        """Where word ``index`` is in ``folded``: each word is the first occurrence of its
        text after the previous word, since only non-word characters lie between them."""
        spans, folded = self._spans, self.folded
        end = spans[-1][1] if spans else 0
        for token in self._tokens[len(spans) : index + 1]:
            start = folded.find(token, end)
            end = start + len(token)
            spans.append((start, end))
        return spans[index]

    def _original(self, position: int) -> int:
        """The index in ``text`` of position ``position`` of ``folded`` (or of its end)."""
        if not self._offsets_known:
            self._offsets, self._offsets_known = char_offsets(self.text), True
        offsets = self._offsets
        if offsets is None:  # every character folded to one
            return position
        return offsets[position] if position < len(offsets) else len(self.text)

    def matched(self, term: str, occurrence: _Occurrence) -> MatchedTerm:
        # the end is the next kept character, so dropped combining marks stay in the span
        start = self._original(self._folded_span(occurrence.first)[0])
        end = self._original(self._folded_span(occurrence.last)[1])
        return MatchedTerm(term, self.name, start, end, self.text[start:end])


class _Occurrence(NamedTuple):
    field: int  # index into the headline's fields
    first: int  # word index of the term's first word
    last: int  # word index of its last word


@dataclass(frozen=True, slots=True)
class _Term:
    tokens: tuple[str, ...]
    prefix: bool
    key: str  # how it reads in ``_Field.joined`` (see ``of``)

    @classmethod
    def of(cls, tokens: tuple[str, ...], prefix: bool) -> _Term:
        """The term's words between spaces; a prefix term lacks the closing space, so its
        last word may go on."""
        return cls(tokens, prefix, f" {' '.join(tokens)}" + ("" if prefix else " "))


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


    def triggers(self, uses: Mapping[int, int]) -> set[int]:
        """Terms of which at least one must occur for the rule to match, so the rule is
        checked only when one did: its ``all`` term that the fewest rules use, else all its
        ``any`` terms, else the heaviest weighted terms without which the others cannot
        reach the threshold. (Regex-only rules have none: the regex set finds them.)"""
        if self.all_ids:
            return {min(self.all_ids, key=lambda t: (uses[t], t))}
        if self.any_ids:
            return set(self.any_ids)
        positive = sorted((w, t) for t, w in self.weights.items() if w > 0)
        rest = sum(w for w, _ in positive)
        needed = set()
        while positive and rest >= (self.rule.threshold or 0):
            weight, tid = positive.pop()
            needed.add(tid)
            rest -= weight
        return needed


def _values(items: object, *keys: str) -> frozenset[str]:
    if not isinstance(items, list):
        return frozenset()
    return frozenset(
        value.casefold()
        for item in items
        if isinstance(item, Mapping)
        for key in keys
        if isinstance(value := item.get(key), str)
    )


class _Facets(dict[str, frozenset[str]]):
    """Case-folded filter values of a headline (feed, topic labels and codes, regions,
    countries), each worked out when a rule first asks for it."""

    def __init__(self, headline: Mapping[str, Any]) -> None:
        super().__init__()
        self._headline = headline

    def __missing__(self, key: str) -> frozenset[str]:
        headline = self._headline
        if key == "feeds":
            feed = headline.get("feed")
            value = frozenset({feed.casefold()} if isinstance(feed, str) else ())
        elif key == "topics":
            value = _values(headline.get("topics"), "label", "code")
        elif key == "regions":
            value = _values(headline.get("regions"), "name")
        else:
            value = _values(headline.get("countries"), "code", "name")
        self[key] = value
        return value


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
                    self._terms.append(_Term.of(*key))
                term_id[term] = by_key[key]
        # one automaton over every term: key -> term id; terms are distinct
        # (words, prefix) pairs and words hold no spaces, so no two terms share a key
        self._automaton: ahocorasick.Automaton | None = None
        if self._terms:
            self._automaton = ahocorasick.Automaton()
            for tid, term in enumerate(self._terms):
                self._automaton.add_word(term.key, tid)
            self._automaton.make_automaton()
        self._rules = [_CompiledRule(rule, term_id) for rule in rules]
        uses = Counter(t for c in self._rules for t in {*c.any_ids, *c.all_ids, *c.weights})
        self._rules_by_term: list[list[int]] = [[] for _ in self._terms]  # by term id
        for index, compiled in enumerate(self._rules):
            for tid in sorted(compiled.triggers(uses)):
                self._rules_by_term[tid].append(index)
        # regex-only rules: one RE2 set says which of them can match a headline
        self._regex_rules = [i for i, c in enumerate(self._rules) if c.regex and not c.spelling]
        self._regex_set = RegexSet([self._rules[i].rule.regex or "" for i in self._regex_rules])

    def __len__(self) -> int:
        return len(self._rules)

    def _found(self, fields: list[_Field]) -> set[int]:
        """Ids of the terms that occur: one pass of the automaton per field. Where they
        occur is worked out only for the rules that need it (``_occurrences``)."""
        if self._automaton is None:
            return set()
        found: set[int] = set()
        for field in fields:
            if field.joined:
                found.update(map(_second, self._automaton.iter(field.joined)))  # in C
        return found

    def _occurrences(self, tid: int, fields: list[_Field]) -> list[_Occurrence]:
        """Every occurrence of a term that occurs, found again with ``str.find``."""
        term = self._terms[tid]
        key, words = term.key, len(term.tokens)
        occurrences = []
        for f, field in enumerate(fields):
            position = field.joined.find(key)
            while position != -1:
                first = field.word_index(position)
                occurrences.append(_Occurrence(f, first, first + words - 1))
                position = field.joined.find(key, position + 1)  # keys may share a space
        return occurrences

    def match(self, headline: Mapping[str, Any]) -> list[Match]:
        """Every rule that matches ``headline`` (a classified headline dict), in rule order."""
        fields = [_Field(name, headline.get(name) or "") for name in FIELDS]
        found = self._found(fields)
        regex_hits = self._regex_set.search(f.text for f in fields) if self._regex_rules else ()
        candidates = {self._regex_rules[i] for i in regex_hits}
        candidates.update(chain.from_iterable(map(self._rules_by_term.__getitem__, found)))
        facets = _Facets(headline)
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
        found: set[int],
        facets: _Facets,
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
            groups = [self._occurrences(t, fields) for t in rule.all_ids]
            if rule.any_ids:
                groups.append([o for t in rule.any_ids if t in found
                               for o in self._occurrences(t, fields)])
            if not _within(groups, rule.rule.near):
                return None
        hits = [
            fields[o.field].matched(spelling, o)
            for tid, spelling in rule.spelling.items()
            if tid in found
            for o in self._occurrences(tid, fields)
        ]
        matched = sorted(hits + regex_hits, key=lambda m: (FIELDS.index(m.field), m.start, m.end))
        return Match(rule.rule.name, rule.rule.severity, tuple(matched), score)


def match_rule(rule: Rule, headline: Mapping[str, Any]) -> Match | None:
    """The match of a single ``rule`` against ``headline``, or None (e.g. for dry runs)."""
    matches = Matcher([rule]).match(headline)
    return matches[0] if matches else None
