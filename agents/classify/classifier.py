"""Headline classifier: topics, countries, regions and language, each with its evidence.

Pure logic (no Kafka): `Classifier.load()` once, then `classify(title, summary)` per headline.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.classify.corpora import (
    CORPORA_ENV,
    corpora_dir,
    evaluation_sets,
    load_specs,
    title_key,
    training_rows,
)
from agents.classify.data_files import CODE_VERSION, CORPORA_FILE, DATA_DIR, inputs_hash
from agents.classify.gazetteer import Gazetteer, PlaceHit, RegionHit
from agents.classify.gazetteer_build import load_gazetteer
from agents.classify.language import LanguageDetector
from agents.classify.matcher import pad
from agents.classify.model import MODEL_FILE, ModelSettings, TopicRegression, read_training
from agents.classify.regions import Region, load_regions
from agents.classify.topics import TopicModel, TopicScore
from agents.classify.wordvectors import WordVectors
from streams.logs import log_event

__all__ = ["Classification", "Classifier", "CountryMatch", "RegionMatch", "TopicScore"]

log = logging.getLogger(__name__)


# The result types are plain (not frozen) dataclasses: several are made per headline, and a
# frozen dataclass takes three times as long to create.
@dataclass(slots=True)
class CountryMatch:
    code: str  # ISO 3166-1 alpha-2 ("EU" for the European Union, "XK" for Kosovo)
    name: str
    score: float  # 1 - prod(1 - weight of each mention); summary mentions count for less
    evidence: list[str]  # the matched text spans

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "score": self.score,
                "evidence": list(self.evidence)}


@dataclass(slots=True)
class RegionMatch:
    name: str
    kind: str  # "m49" | "geopolitical"
    countries: list[str]  # the headline's countries that sit in it (empty if only named)
    evidence: list[str]  # text spans naming the region itself ("Southeast Asia"), if any

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "countries": list(self.countries),
                "evidence": list(self.evidence)}


@dataclass(slots=True)
class Classification:
    topics: list[TopicScore]  # best first
    countries: list[CountryMatch]  # best first
    regions: list[RegionMatch]  # in regions.yaml order
    language: str  # ISO 639-1, "und" when unknown
    classifier_version: str

    @property
    def topic_labels(self) -> list[str]:
        return [t.label for t in self.topics]

    @property
    def country_codes(self) -> list[str]:
        return [c.code for c in self.countries]

    @property
    def region_names(self) -> list[str]:
        return [r.name for r in self.regions]

    def to_dict(self) -> dict:
        """JSON-ready; `regions` are objects, `region_names` the plain names."""
        return {
            "topics": [t.to_dict() for t in self.topics],
            "countries": [c.to_dict() for c in self.countries],
            "regions": [r.to_dict() for r in self.regions],
            "region_names": self.region_names,
            "language": self.language,
            "classifier_version": self.classifier_version,
        }


def freeze_long_lived() -> None:
    """Take every object alive now out of the garbage collector's generations (`gc.freeze`),
    once per process, after loading the classifier it keeps (the classify agent, the speed
    benchmark): every full collection would walk its half a million objects again (0.1 s,
    about 12% of the classifying time). Frozen objects are still freed by reference counting;
    only cycles among them are never collected."""
    gc.collect()
    gc.freeze()


class Classifier:
    def __init__(self, gazetteer: Gazetteer, topics: TopicModel, regions: tuple[Region, ...],
                 language: LanguageDetector, version: str,
                 model: TopicRegression | None = None) -> None:
        self._gazetteer = gazetteer
        self._topics = topics
        self._regions = regions
        self._language = language
        self.version = version
        self._model = model
        self._topic_index = {t.code: i for i, t in enumerate(topics.topics)}
        self._region_order = {r.name: i for i, r in enumerate(regions)}  # regions.yaml order
        self._members = functools.lru_cache(maxsize=4096)(self._region_members)
        self._regions_of: dict[str, tuple[Region, ...]] = {}
        for region in regions:
            for code in region.countries:
                self._regions_of[code] = (*self._regions_of.get(code, ()), region)

    @classmethod
    def load(cls, data_dir: Path | None = None, topic_model: bool = True) -> Classifier:
        """Build from the data files in `data_dir` (default: the bundled ones), with the topic
        model when model.yaml enables it (and `topic_model` is true).

        The model is read from topic_model.npz if that was saved from the same data; otherwise
        it is trained here (a second or two, and more memory), and a warning says how to save
        it. Raises agents.classify.errors.DataError naming the file and entry on bad data.
        """
        data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
        regions = load_regions(data_dir / "regions.yaml")
        topics = TopicModel.load(data_dir / "topics.yaml")
        language = LanguageDetector.load(data_dir / "languages.yaml")
        gazetteer = load_gazetteer(data_dir, regions, topics.words | language.function_words)
        inputs = inputs_hash(data_dir)
        classifier = cls(gazetteer, topics, regions, language, f"{CODE_VERSION}+{inputs[:10]}")
        settings_path = data_dir / "model.yaml"
        if not topic_model or not settings_path.exists():
            return classifier
        settings = ModelSettings.load(settings_path)
        if not settings.enabled:
            return classifier
        model = TopicRegression.load(data_dir / MODEL_FILE, settings, inputs)
        if model is None:
            model = classifier._stale_model(data_dir, settings)
        return classifier.with_model(model)

    def _stale_model(self, data_dir: Path, settings: ModelSettings) -> TopicRegression | None:
        """After an edit of the data: the model trained here when the real corpora are at hand
        ($WIREWATCH_CORPORA), else the saved model as it is (None if there is none)."""
        hint = "python -m agents.classify.train --corpora DIR saves a fresh one"
        if os.environ.get(CORPORA_ENV):
            log_event(log, logging.WARNING, "topic_model_stale", file=data_dir / MODEL_FILE,
                      action="training_now", hint=hint)
            return self.train_from(data_dir, settings, corpora_dir())[0]
        log_event(log, logging.WARNING, "topic_model_stale", file=data_dir / MODEL_FILE,
                  action="using_saved", hint=hint)
        return TopicRegression.load(data_dir / MODEL_FILE, settings, "", stale_ok=True)

    def train_from(self, data_dir: Path, settings: ModelSettings,
                   corpora: Path | None) -> tuple[TopicRegression, dict[str, int]]:
        """A topic model trained on the real corpora's training rows (`corpora`: their
        directory, None for none) and the training file's supplement, with the word vectors
        model.yaml names; and the number of headlines taken from each source."""
        rows, counts = self.training_rows(data_dir, settings, corpora)
        vectors = WordVectors.load(data_dir / settings.vectors) if settings.vectors else None
        return self.train_model(rows, settings, vectors), counts

    def training_rows(self, data_dir: Path, settings: ModelSettings, corpora: Path | None
                      ) -> tuple[list[tuple[str, set[int]]], dict[str, int]]:
        """(title, topic indexes) to train on, and how many came from each source: the
        corpora's training rows, then the training file's lines whose first topic is a
        supplement topic (none of the evaluation sets' titles, no title twice)."""
        index = self._topic_index
        rows: list[tuple[str, set[int]]] = []
        counts: dict[str, int] = {}
        seen: set[str] = set()
        if corpora is not None:
            specs = load_specs(data_dir / CORPORA_FILE)
            real, counts = training_rows(corpora, specs)
            rows = [(title, {index[c] for c in codes}) for title, codes in real]
            seen = {title_key(title) for title, _ in real} | {
                title_key(title) for held in evaluation_sets(corpora, specs).values()
                for title, _ in held}
        supplement = [(title, topics) for title, topics, first in
                      read_training(data_dir / settings.training, self.topic_codes)
                      if self.topic_codes[first] in settings.supplement_topics
                      and title_key(title) not in seen]
        counts["supplement (self-written)"] = len(supplement)
        return rows + supplement, counts

    def train_model(self, rows: list[tuple[str, set[int]]], settings: ModelSettings,
                    vectors: WordVectors | None = None) -> TopicRegression:
        """A topic model trained on (title, topic indexes) rows, this classifier's lexicons and
        the word `vectors`."""
        return TopicRegression.train(self.model_inputs([title for title, _ in rows]),
                                     [topics for _, topics in rows],
                                     len(self._topics.topics), settings, vectors)

    def model_inputs(self, titles: Sequence[str]) -> list[tuple[str, list[int]]]:
        """The topic model's view of titles: (padded title, the indexes of the topics the
        lexicons find in it, best first)."""
        inputs = []
        for title in titles:
            padded, lexical, *_ = self._read(title, "")
            inputs.append((padded, [self._topic_index[t.code] for t in lexical]))
        return inputs

    def with_model(self, model: TopicRegression | None) -> Classifier:
        """This classifier with another topic model (None: lexicons only)."""
        return Classifier(self._gazetteer, self._topics, self._regions, self._language,
                          self.version, model)

    @property
    def max_topics(self) -> int:
        """The most topics a headline gets (topics.yaml)."""
        return self._topics.max_topics

    @property
    def topic_labels(self) -> tuple[str, ...]:
        return tuple(t.label for t in self._topics.topics)

    @property
    def topic_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self._topics.topics)

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self._regions)

    def classify(self, title: str, summary: str = "", country: str | None = None
                 ) -> Classification:
        """`country`: the feed's country (ISO 3166-1 alpha-2), a prior that only resolves
        place names several countries share; no place is ever reported from it alone."""
        return self.classify_many([(title, summary)], [country])[0]

    def classify_many(self, headlines: Sequence[tuple[str, str]],
                      countries: Sequence[str | None] | None = None) -> list[Classification]:
        """Classify (title, summary) pairs, each with its feed's `countries` prior (default
        none): the same results as one at a time, but faster, as the topic model scores the
        whole batch at once."""
        priors = countries if countries is not None else [None] * len(headlines)
        read = [self._read(title, summary, prior)
                for (title, summary), prior in zip(headlines, priors, strict=True)]
        topics = ([r[1] for r in read] if self._model is None
                  else self._model_topics([r[0] for r in read], [r[1] for r in read]))
        return [Classification(chosen, r[2], r[3], r[4], self.version)
                for r, chosen in zip(read, topics, strict=True)]

    def _read(self, title: str, summary: str, prior: str | None = None
              ) -> tuple[str, list[TopicScore], list[CountryMatch], list[RegionMatch], str]:
        """The padded title, the lexicons' topics, the countries, regions and language."""
        padded_title = pad(title)
        padded_summary = pad(summary) if summary else ""
        places, named = self._gazetteer.find(title, padded_title, prior)
        found = [(p, title) for p in places]
        mentions = [(r, title) for r in named]
        title_spans = [(p.start, p.end) for p in places]
        summary_spans: list[tuple[int, int]] = []
        if summary:
            places, named = self._gazetteer.find(summary, padded_summary, prior)
            factor = self._topics.summary_weight
            found += [(PlaceHit(p.code, p.kind, p.weight * factor, p.start, p.end), summary)
                      for p in places]
            mentions += [(r, summary) for r in named]
            summary_spans = [(p.start, p.end) for p in places]
        topics = self._topics.score(title, padded_title, summary, padded_summary, title_spans,
                                    summary_spans)
        countries = self._countries(found)
        regions = self._region_matches(countries, mentions)
        language = self._language.detect(title, padded_title[1:-1], bool(topics))
        return padded_title, topics, countries, regions, language

    def _model_topics(self, padded_titles: list[str],
                      found: list[list[TopicScore]]) -> list[list[TopicScore]]:
        """The model's topics per title, given the lexicons' `found` topics. A topic's score is
        the model's probability; its evidence is the lexicon terms, or else "model:<word>" for
        the title's words that raise it most."""
        assert self._model is not None
        by_index = [{self._topic_index[t.code]: t for t in lexical} for lexical in found]
        headlines = [(padded, list(lexical))
                     for padded, lexical in zip(padded_titles, by_index, strict=True)]
        chosen = self._model.choose(self._model.log_odds(headlines),
                                    [lexical for _, lexical in headlines])
        topics = self._topics.topics
        result = []
        for padded, lexical, picks in zip(padded_titles, by_index, chosen, strict=True):
            scored = []
            for t, p in picks[:self._topics.max_topics]:
                found_too = lexical.get(t)
                if found_too is not None:  # the lexicons' topic, with their evidence
                    found_too.score = p
                    scored.append(found_too)
                    continue
                reasons = self._model.reasons(padded, t)
                if reasons:  # a topic the model has no word for is left out
                    scored.append(TopicScore(topics[t].code, topics[t].label, p,
                                             [f"model:{w}" for w in reasons]))
            result.append(scored)
        return result

    def _countries(self, found: list[tuple[PlaceHit, str]]) -> list[CountryMatch]:
        if not found:
            return []
        miss: dict[str, float] = {}
        evidence: dict[str, list[str]] = {}
        for place, text in found:
            miss[place.code] = miss.get(place.code, 1.0) * (1.0 - place.weight)
            span = text[place.start:place.end]
            spans = evidence.setdefault(place.code, [])
            if span not in spans:
                spans.append(span)
        names = self._gazetteer.country_names
        ranked = sorted(miss, key=miss.__getitem__)  # stable: ties keep first-mention order
        return [CountryMatch(code, names.get(code, code), round(1.0 - miss[code], 3),
                             evidence[code]) for code in ranked]

    def _region_matches(self, countries: list[CountryMatch],
                        mentions: list[tuple[RegionHit, str]]) -> list[RegionMatch]:
        if not countries and not mentions:
            return []
        spans: dict[str, list[str]] = {}
        for hit, text in mentions:
            spans.setdefault(hit.name, []).append(text[hit.start:hit.end])
        members = self._members(tuple(c.code for c in countries))
        named = [name for name in spans if name not in members]
        if named:
            order = self._region_order
            members = dict(sorted([*members.items(), *((n, ()) for n in named)],
                                  key=lambda item: order[item[0]]))
        return [RegionMatch(name, self._regions[self._region_order[name]].kind, list(codes),
                            spans.get(name, [])) for name, codes in members.items()]

    def _region_members(self, codes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        """Region name -> the given countries in it, in regions.yaml order (`_members` caches
        it: headlines name the same few countries again and again)."""
        members: dict[str, list[str]] = {}
        for code in codes:
            for region in self._regions_of.get(code, ()):
                members.setdefault(region.name, []).append(code)
        order = self._region_order
        return {name: tuple(members[name]) for name in sorted(members, key=order.__getitem__)}

