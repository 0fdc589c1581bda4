"""A small statistical topic model on top of the lexicons, trained when the classifier loads.

One-vs-rest naive Bayes over the headline's distinct words and word pairs, plus one feature per
topic the lexicons found ("lexicon topic" as a word). Training is counting, so it is
deterministic and takes a fraction of a second; nothing is downloaded or cached.

For topic t the log-odds of a headline x with distinct features F (those seen in training) is

    z_t = prior_t + |F| * k_t + sum_{f in F} base_f + sum_{f in F, t seen with f} delta_tf

which is the binarised multinomial naive Bayes log-odds of "t" against "not t", rewritten so that
a feature stores one shared `base` and a delta only for the topics it was seen with. The reported
probability is sigmoid(z_t / temperature): naive Bayes is over-confident, and the temperature (set
in model.yaml, chosen by cross-validation) spreads its scores.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.classify.errors import DataError, read_yaml_mapping

LEXICON_FEATURE = "\x00lexicon:"  # cannot occur in folded text


@dataclass(frozen=True, slots=True)
class ModelSettings:
    enabled: bool  # False: Classifier.load() does not train or use the model
    training: str  # training file, relative to the data directory
    alpha: float  # additive smoothing of the feature counts
    temperature: float  # z / temperature goes through the sigmoid
    add_threshold: float  # probability for a topic beside the lexicon's topics
    alone_threshold: float  # probability for a topic when the lexicons found none
    max_added: int  # at most this many topics added by the model per headline
    max_share: float  # features in more than this share of training headlines are dropped

    @classmethod
    def load(cls, path: Path) -> ModelSettings:
        doc = read_yaml_mapping(path, "a mapping of model settings")
        numbers = {}
        for key in ("alpha", "temperature", "add_threshold", "alone_threshold", "max_added",
                    "max_share"):
            value = doc.get(key)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise DataError(f"{path}: {key} must be a positive number")
            numbers[key] = value
        for key in ("add_threshold", "alone_threshold"):
            if numbers[key] >= 1:
                raise DataError(f"{path}: {key} must be a probability below 1")
        if not isinstance(doc.get("enabled"), bool):
            raise DataError(f"{path}: enabled must be true or false")
        if not isinstance(doc.get("training"), str):
            raise DataError(f"{path}: training must name the training file")
        return cls(doc["enabled"], doc["training"], float(numbers["alpha"]),
                   float(numbers["temperature"]), float(numbers["add_threshold"]),
                   float(numbers["alone_threshold"]),
                   int(numbers["max_added"]), float(numbers["max_share"]))


def features(padded_title: str, lexicon_topics: Iterable[int]) -> set[str]:
    """The distinct words and adjacent word pairs of a folded, padded title, plus one feature
    per topic index the lexicons found."""
    words = padded_title.split()
    found = set(words)
    found.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    found.update(f"{LEXICON_FEATURE}{t}" for t in lexicon_topics)
    return found


def read_training(path: Path, codes: Sequence[str]) -> list[tuple[str, set[int]]]:
    """(title, topic indexes) per line of a JSONL file of {"title", "topics": [codes]}."""
    index = {code: i for i, code in enumerate(codes)}
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the training file ({exc.strerror})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("title"), str) \
                or not isinstance(row.get("topics"), list) or not row["topics"]:
            raise DataError(f"{where}: needs a 'title' string and a non-empty 'topics' list")
        unknown = [c for c in row["topics"] if c not in index]
        if unknown:
            raise DataError(f"{where}: unknown topic code(s) {unknown}")
        rows.append((row["title"], {index[c] for c in row["topics"]}))
    return rows


class NaiveBayes:
    """One-vs-rest binarised multinomial naive Bayes over feature sets (see the module doc)."""

    def __init__(self, examples: Sequence[tuple[set[str], set[int]]], n_topics: int,
                 alpha: float, max_share: float = 1.0) -> None:
        docs: Counter[int] = Counter()  # documents per topic
        total: Counter[str] = Counter()  # documents per feature
        joint: dict[str, Counter[int]] = {}  # documents per feature and topic
        mass: Counter[int] = Counter()  # feature occurrences per topic
        n_mass = 0
        for feats, topics in examples:
            docs.update(topics)
            total.update(feats)
            n_mass += len(feats)
            for t in topics:
                mass[t] += len(feats)
            for f in feats:
                joint.setdefault(f, Counter()).update(topics)
        n_docs, vocab = len(examples), len(total)
        self.prior = [math.log((docs[t] + 0.5) / (n_docs - docs[t] + 0.5))
                      for t in range(n_topics)]
        self.per_feature = [math.log(n_mass - mass[t] + alpha * vocab)
                            - math.log(mass[t] + alpha * vocab) for t in range(n_topics)]
        self.weights: dict[str, tuple[float, tuple[tuple[int, float], ...]]] = {}
        for f, count in total.items():
            if count > max_share * n_docs:
                continue  # as common as a function word: little to say, costly to score
            base = math.log(alpha) - math.log(count + alpha)
            deltas = tuple(sorted(
                (t, math.log(c + alpha) - math.log(count - c + alpha) - base)
                for t, c in joint[f].items()))
            self.weights[f] = (base, deltas)

    def log_odds(self, feats: Iterable[str]) -> dict[int, float]:
        """z_t for every topic t seen in training with at least one of the features (the
        others have no evidence and are not candidates)."""
        touched: dict[int, float] = {}
        shared = 0.0
        n = 0
        get = self.weights.get
        for f in feats:
            entry = get(f)
            if entry is not None:
                n += 1
                shared += entry[0]
                for t, delta in entry[1]:
                    touched[t] = touched.get(t, 0.0) + delta
        prior, per_feature = self.prior, self.per_feature
        return {t: z + prior[t] + shared + n * per_feature[t] for t, z in touched.items()}


class TopicAdder:
    """Adds the topics the naive Bayes model is confident of to the lexicons' topics."""

    def __init__(self, model: NaiveBayes, settings: ModelSettings) -> None:
        self.model = model
        self.settings = settings
        # compare log-odds against logit(threshold) * temperature: no exp per topic
        self._add_cut = _logit(settings.add_threshold) * settings.temperature
        self._alone_cut = _logit(settings.alone_threshold) * settings.temperature

    @classmethod
    def train(cls, rows: Sequence[tuple[str, set[int]]], lexicon_topics: Sequence[set[int]],
              n_topics: int, settings: ModelSettings) -> TopicAdder:
        """Train on (padded title, topics) rows, with the lexicons' topics of each row."""
        examples = [(features(padded, lex), topics)
                    for (padded, topics), lex in zip(rows, lexicon_topics, strict=True)]
        return cls(NaiveBayes(examples, n_topics, settings.alpha, settings.max_share), settings)

    def extra(self, padded_title: str, lexicon_topics: Sequence[int]) -> list[tuple[int, float]]:
        """(topic index, probability) of the topics to add, most probable first."""
        z = self.model.log_odds(features(padded_title, lexicon_topics))
        cut = self._add_cut if lexicon_topics else self._alone_cut
        chosen = sorted(((z_t, t) for t, z_t in z.items()
                         if z_t >= cut and t not in lexicon_topics), reverse=True)
        temperature = self.settings.temperature
        return [(t, round(_sigmoid(z_t / temperature), 2))
                for z_t, t in chosen[:self.settings.max_added]]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
