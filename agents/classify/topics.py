"""Topic lexicons (IPTC Media Topics top level) and their weighted-term scoring."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.classify.errors import DataError, read_yaml_mapping
from agents.classify.matcher import PhraseIndex, fold_keeping_offsets, phrase_key


@dataclass(frozen=True, slots=True)
class Topic:
    code: str  # e.g. "medtop:16000000"
    label: str  # short label that rules use, e.g. "conflict/war/peace"
    name: str  # IPTC name


@dataclass(slots=True)  # not frozen, as classifier.py's result types
class TopicScore:
    code: str
    label: str
    score: float  # weight / (weight + threshold): 0.5 at the threshold
    evidence: list[str]

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "score": self.score,
                "evidence": list(self.evidence)}


_ENGLISH_WORD = re.compile(r"[a-z]{3,}")


def plural(phrase: str) -> str | None:
    """The English plural of a lexicon phrase's last word ("peace deal" -> "peace deals"), or
    None for prefixes, non-English words and words that already end in s."""
    head, _, last = phrase.rpartition(" ")
    if phrase.endswith("*") or not _ENGLISH_WORD.fullmatch(last) or last.endswith("s"):
        return None
    if last.endswith("y") and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif last.endswith(("ch", "sh", "x", "z")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}" if head else last


@dataclass(frozen=True, slots=True)
class _Term:
    topic: int
    weight: float
    term: str


class TopicModel:
    """Sums the weights of the distinct lexicon terms found in a headline, per topic.

    A phrase also matches its English plural ("peace deal" also matches "peace deals")."""

    def __init__(self, topics: tuple[Topic, ...], terms: list[tuple[str, _Term]],
                 threshold: float, secondary_ratio: float, max_topics: int,
                 summary_weight: float) -> None:
        self.topics = topics
        self._index: PhraseIndex[_Term] = PhraseIndex(terms + _plural_terms(terms))
        self._words = frozenset(
            k for k in (fold_keeping_offsets(t.rstrip("*")).strip() for t, _ in terms)
            if k and " " not in k)
        self.threshold = threshold
        self.secondary_ratio = secondary_ratio
        self.max_topics = max_topics
        self.summary_weight = summary_weight

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        """Read topics.yaml; errors name the file, the topic and the term."""
        doc = read_yaml_mapping(path, "a mapping with a 'topics' list")
        if not isinstance(doc.get("topics"), list):
            raise DataError(f"{path}: expected a mapping with a 'topics' list")
        topics: list[Topic] = []
        terms: list[tuple[str, _Term]] = []
        for number, spec in enumerate(doc["topics"], 1):
            if not isinstance(spec, dict) or not all(
                    isinstance(spec.get(k), str) for k in ("code", "label", "name")):
                raise DataError(f"{path}: topic #{number} needs code, label and name")
            where = f"{path}: topic {spec['label']!r}"
            if any(spec["code"] == t.code or spec["label"] == t.label for t in topics):
                raise DataError(f"{where}: code or label used twice")
            lexicon = spec.get("terms")
            if not isinstance(lexicon, dict) or not lexicon:
                raise DataError(f"{where}: needs a non-empty 'terms' mapping")
            keys: dict[str, str] = {}
            for term, weight in lexicon.items():
                if not isinstance(weight, int | float) or isinstance(weight, bool):
                    raise DataError(f"{where}: term {term!r} needs a numeric weight")
                key = phrase_key(str(term))
                if not key:
                    raise DataError(f"{where}: term {term!r} has no letters or digits")
                if key in keys:
                    raise DataError(f"{where}: terms {keys[key]!r} and {term!r} match the same "
                                    "text")
                keys[key] = str(term)
                terms.append((str(term), _Term(len(topics), float(weight), str(term))))
            topics.append(Topic(spec["code"], spec["label"], spec["name"]))
        settings = {k: doc.get(k, d) for k, d in (("threshold", 1.0), ("secondary_ratio", 0.5),
                                                   ("max_topics", 3), ("summary_weight", 0.5))}
        for key, value in settings.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise DataError(f"{path}: {key} must be a positive number")
        return cls(tuple(topics), terms, float(settings["threshold"]),
                   float(settings["secondary_ratio"]), int(settings["max_topics"]),
                   float(settings["summary_weight"]))

    @property
    def words(self) -> frozenset[str]:
        """The single-word terms (without the prefix star), folded."""
        return self._words

    def score(self, title: str, padded_title: str, summary: str = "",
              padded_summary: str = "", title_places: Sequence[tuple[int, int]] = (),
              summary_places: Sequence[tuple[int, int]] = ()) -> list[TopicScore]:
        """The headline's topics, best first (see topics.yaml for the selection rule).

        `title_places` and `summary_places` are the (start, end) spans of the place names found
        in each: a term inside a place name does not count ("Bank" in "West Bank"), unless the
        term is the whole name ("Wall Street")."""
        weights: dict[int, float] = {}
        evidence: dict[int, list[str]] = {}
        seen: set[tuple[int, str]] = set()
        for text, padded, factor, places in (
                (title, padded_title, 1.0, title_places),
                (summary, padded_summary, self.summary_weight, summary_places)):
            if not padded:
                continue
            for hit in self._index.find(padded):
                inside = [p for p in places if p[0] <= hit.start and hit.end <= p[1]] \
                    if places else ()
                for term in hit.values:
                    if inside and (term.term.endswith("*")
                                   or (hit.start, hit.end) not in inside):
                        continue
                    if (term.topic, term.term) in seen:
                        continue  # a term counts once, even if in both title and summary
                    seen.add((term.topic, term.term))
                    weights[term.topic] = weights.get(term.topic, 0.0) + term.weight * factor
                    evidence.setdefault(term.topic, []).append(text[hit.start:hit.end])
        ranked = sorted((w, t) for t, w in weights.items() if w > 0)
        if not ranked:
            return []
        best = ranked[-1][0]
        floor = max(self.threshold, best * self.secondary_ratio)
        chosen = [ranked[-1]] + [(w, t) for w, t in reversed(ranked[:-1]) if w >= floor]
        return [TopicScore(self.topics[t].code, self.topics[t].label,
                           round(w / (w + self.threshold), 3), evidence[t])
                for w, t in chosen[:self.max_topics]]


def _plural_terms(terms: list[tuple[str, _Term]]) -> list[tuple[str, _Term]]:
    """Plural forms of the lexicon phrases, with the same topic and weight, for the phrases whose
    plural is not itself a term of any topic (an explicit term keeps its own weights)."""
    explicit = {phrase_key(phrase) for phrase, _ in terms}
    added: list[tuple[str, _Term]] = []
    for phrase, term in terms:
        form = plural(fold_keeping_offsets(phrase).strip())
        if form and phrase_key(form) not in explicit:
            added.append((form, term))
    return added
