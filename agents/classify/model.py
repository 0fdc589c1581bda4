"""The statistical topic model: logistic regression over a headline's words and the lexicons'
findings, trained by `python -m agents.classify.train` and saved beside the data.

Features of a headline (`features`): its distinct folded words, word stems (the first
`STEM` letters of longer words, so "strikes" and "striking" share one), and one feature per topic
the lexicons found plus one for the lexicons' best topic. The lexicons are thus the model's
strongest inputs, and the model learns from the training headlines how far to trust each lexicon
and which wording the lexicons miss. With word vectors, the headline vector is an input too.

Training (`TopicRegression.train`) fits one scikit-learn logistic regression per topic (one vs
rest, L2 penalty, L-BFGS) over a scipy sparse matrix: the same data always gives the same
weights, with nothing downloaded. scikit-learn (the `train` extra) is needed for training only;
scipy is installed with the package but only training imports it. Scoring a
headline sums the table rows of its features (`TopicRegression.log_odds`).
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.classify.errors import DataError, read_yaml_mapping
from agents.classify.wordvectors import WordVectors, scaled_sums, table_rows

MODEL_FILE = "topic_model.npz"  # the trained model, saved by `python -m agents.classify.train`
LEXICON_FEATURE = "\x00lexicon:"  # cannot occur in folded text
LEXICON_BEST_FEATURE = "\x00lexicon-best:"
STEM = 5  # letters a word stem keeps; words of more than STEM letters also give their stem
_STEM_MARK = "~"


@dataclass(frozen=True, slots=True)
class ModelSettings:
    enabled: bool  # False: Classifier.load() does not train or use the model
    training: str  # training file, relative to the data directory
    l2: float  # L2 penalty on the weights (per training headline)
    vectors: str | None  # word vectors file, relative to the data directory (None: no vectors)
    vector_scale: float  # the headline vector (about unit length) is multiplied by this
    min_count: int  # a word feature needs at least this many training headlines
    threshold: float  # probability a topic needs to be reported
    alone_threshold: float  # probability the best topic needs when no topic reaches threshold
    balance: float = 0.0  # a training row weighs (rows of its rarest topic) ** -balance
    supplement_topics: frozenset[str] = frozenset()  # the training file's lines count only if
    # their first topic is one of these (topics that no real corpus teaches)

    @classmethod
    def load(cls, path: Path) -> ModelSettings:
        doc = read_yaml_mapping(path, "a mapping of model settings")
        numbers = {}
        for key in ("l2", "vector_scale", "min_count", "threshold", "alone_threshold",
                    "balance"):
            value = doc.get(key, 0.0 if key == "balance" else None)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise DataError(f"{path}: {key} must be a number, zero or more")
            numbers[key] = value
        for key in ("threshold", "alone_threshold"):
            if not 0 < numbers[key] < 1:
                raise DataError(f"{path}: {key} must be a probability between 0 and 1")
        if not isinstance(numbers["min_count"], int) or numbers["min_count"] < 1:
            raise DataError(f"{path}: min_count must be a whole number, 1 or more")
        if doc.get("vectors") is not None and not isinstance(doc["vectors"], str):
            raise DataError(f"{path}: vectors must name the word vectors file, or be null")
        if not isinstance(doc.get("enabled"), bool):
            raise DataError(f"{path}: enabled must be true or false")
        if not isinstance(doc.get("training"), str):
            raise DataError(f"{path}: training must name the training file")
        supplement = doc.get("supplement_topics", [])
        if not isinstance(supplement, list) or not all(isinstance(c, str) for c in supplement):
            raise DataError(f"{path}: supplement_topics must be a list of IPTC codes")
        return cls(doc["enabled"], doc["training"], float(numbers["l2"]), doc.get("vectors"),
                   float(numbers["vector_scale"]), numbers["min_count"],
                   float(numbers["threshold"]), float(numbers["alone_threshold"]),
                   float(numbers["balance"]), frozenset(supplement))


def features(padded_title: str, lexicon_topics: Sequence[int]) -> set[str]:
    """The distinct words and word stems of a folded, padded title, plus one feature per topic
    index the lexicons found and one for their best (first) topic. (Adjacent word pairs were
    tried too: +0.003 macro-F1 on cross-validation, for 15% of the classifier's throughput.)"""
    words = padded_title.split()
    found = set(words)
    found.update([_STEM_MARK + w[:STEM] for w in words if len(w) > STEM])
    if lexicon_topics:
        found.update([_lexicon_names(t)[0] for t in lexicon_topics])
        found.add(_lexicon_names(lexicon_topics[0])[1])
    return found


@functools.cache
def _lexicon_names(topic: int) -> tuple[str, str]:
    """The features "the lexicons found `topic`" and "... as their best topic"."""
    return f"{LEXICON_FEATURE}{topic}", f"{LEXICON_BEST_FEATURE}{topic}"


def read_training(path: Path, codes: Sequence[str]) -> list[tuple[str, set[int], int]]:
    """(title, topic indexes, first topic's index) per line of a JSONL file of
    {"title", "topics": [codes]}."""
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
        rows.append((row["title"], {index[c] for c in row["topics"]}, index[row["topics"][0]]))
    return rows


class TopicRegression:
    """One-vs-rest logistic regression over a headline's feature set and, when word vectors are
    given, its headline vector. A headline is given as (padded title, lexicon topic indexes).

    One table row per known feature holds its own weights and, for a word with a vector, what
    its vector adds (vector times the learnt matrix) and its vector's squared length, so that
    a headline's log-odds are sum(weights) + sum(vector part) / sqrt(sum(squared lengths)) over
    its features' rows: the learnt matrix applied to the headline vector (`WordVectors.embed`),
    for the price of one lookup per feature."""

    def __init__(self, vocabulary: dict[str, int], weights: np.ndarray,
                 vector_weights: np.ndarray | None, mass: np.ndarray | None,
                 settings: ModelSettings) -> None:
        self.vocabulary = vocabulary  # feature -> table row; row 0 is the bias
        self.weights = weights  # rows x topics: the features' own weights
        self.vector_weights = vector_weights  # rows x topics: their vectors' share (or None)
        self.mass = mass  # rows: their vectors' squared lengths (0 without a vector)
        self.settings = settings
        self._cut = _logit(settings.threshold)

    @classmethod
    def train(cls, headlines: Sequence[tuple[str, Sequence[int]]], topics: Sequence[set[int]],
              n_topics: int, settings: ModelSettings,
              vectors: WordVectors | None = None) -> TopicRegression:
        """Fit on headlines and their topic indexes; see the module doc.

        Each headline is seen twice, with the lexicons' topics and without them, so the model
        learns to do without the lexicons where they are silent or misled (+0.01 macro-F1 on
        cross-validation)."""
        feature_sets = [features(padded, lexical) for padded, lexical in headlines]
        counts = Counter(f for feats in feature_sets for f in feats)
        headlines = [*headlines, *((padded, []) for padded, _ in headlines)]
        topics = [*topics, *topics]
        feature_sets += [features(padded, []) for padded, _ in headlines[len(feature_sets):]]
        vocabulary = {f: i for i, f in enumerate(
            sorted(f for f, n in counts.items() if n >= settings.min_count
                   or f.startswith("\x00")), 1)}
        rows, cols = [], []
        labels = np.zeros((len(headlines), n_topics), dtype=np.float32)
        for r, (feats, wanted) in enumerate(zip(feature_sets, topics, strict=True)):
            found = [0, *sorted(vocabulary[f] for f in feats if f in vocabulary)]
            rows += [r] * len(found)
            cols += found
            labels[r, sorted(wanted)] = 1.0
        from scipy import sparse  # training only: a worker never imports scipy

        inputs = sparse.csr_array((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                  shape=(len(headlines), len(vocabulary) + 1))
        per_topic = labels.sum(axis=0)
        rarest = np.where(labels > 0, per_topic, np.inf).min(axis=1)
        rarest[~np.isfinite(rarest)] = 1.0
        row_weights = rarest ** -settings.balance
        row_weights *= len(row_weights) / row_weights.sum()
        if vectors is None:
            weights = _fit(inputs, np.zeros((len(headlines), 0), np.float32), labels,
                           row_weights, settings.l2)
            return cls(vocabulary, weights, None, None, settings)
        dense = vectors.embed([padded for padded, _ in headlines]) * settings.vector_scale
        weights = _fit(inputs, dense, labels, row_weights, settings.l2)
        n_sparse = len(vocabulary) + 1
        for word in vectors.index:  # words with a vector join the table
            vocabulary.setdefault(word, len(vocabulary) + 1)
        table = np.zeros((len(vocabulary) + 1, n_topics), np.float32)
        table[:n_sparse] = weights[:n_sparse]
        word_rows = [vocabulary[word] for word in vectors.index]
        vector_weights = np.zeros_like(table)
        vector_weights[word_rows] = vectors.table[1:] @ (weights[n_sparse:]
                                                         * settings.vector_scale)
        mass = np.zeros(len(table), np.float32)
        mass[word_rows] = vectors.mass[1:]
        return cls(vocabulary, table, vector_weights, mass, settings)

    def save(self, path: Path, inputs: str) -> None:
        """Write the model to `path` (.npz), marked with `inputs`, the hash of the data it was
        trained from (`load` refuses a model whose mark differs)."""
        arrays = {"inputs": _text([inputs]), "features": _text(self.vocabulary),
                  "weights": self.weights}
        if self.vector_weights is not None and self.mass is not None:
            arrays |= {"vector_weights": self.vector_weights, "mass": self.mass}
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path, settings: ModelSettings, inputs: str,
             stale_ok: bool = False) -> TopicRegression | None:
        """The model saved at `path`, or None if there is none or (unless `stale_ok`) it was
        trained from other data than the `inputs` hash names."""
        try:
            with np.load(path) as saved:
                if _untext(saved["inputs"]) != [inputs] and not stale_ok:
                    return None
                vocabulary = {f: i for i, f in enumerate(_untext(saved["features"]), 1)}
                with_vectors = "vector_weights" in saved
                return cls(vocabulary, saved["weights"],
                           saved["vector_weights"] if with_vectors else None,
                           saved["mass"] if with_vectors else None, settings)
        except FileNotFoundError:
            return None
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the saved topic model ({exc})") from exc

    def with_settings(self, settings: ModelSettings) -> TopicRegression:
        """The same weights with other thresholds (for tuning)."""
        return TopicRegression(self.vocabulary, self.weights, self.vector_weights, self.mass,
                               settings)

    def log_odds(self, headlines: Sequence[tuple[str, Sequence[int]]]) -> np.ndarray:
        """The log-odds of every topic (columns) for each headline (rows)."""
        rows, starts = table_rows((features(padded, lexical) for padded, lexical in headlines),
                                  self.vocabulary)  # row 0, first of each headline's: the bias
        z = np.add.reduceat(self.weights[rows], starts)
        if self.vector_weights is not None and self.mass is not None:
            z += scaled_sums(self.vector_weights, self.mass, rows, starts)
        return z

    def choose(self, z: np.ndarray,
               lexical: Sequence[Sequence[int]]) -> list[list[tuple[int, float]]]:
        """Per row of log-odds, (topic index, probability) of the topics to report, most probable
        first: every topic over the threshold; else the most probable of the topics the lexicons
        found (`lexical`, per row); else the best one if it reaches alone_threshold."""
        probability = (1.0 / (1.0 + np.exp(-z))).tolist()
        over: list[list[int]] = [[] for _ in probability]
        for row, topic in zip(*(a.tolist() for a in np.nonzero(z >= self._cut)), strict=True):
            over[row].append(topic)
        best = z.argmax(axis=1).tolist()
        chosen = []
        for row, topics in enumerate(over):
            p = probability[row]
            if len(topics) > 1:
                topics.sort(key=p.__getitem__, reverse=True)
            elif not topics and lexical[row]:
                topics.append(max(lexical[row], key=p.__getitem__))
            elif not topics and p[best[row]] >= self.settings.alone_threshold:
                topics.append(best[row])
            chosen.append([(t, round(p[t], 3)) for t in topics])
        return chosen

    def reasons(self, padded_title: str, topic: int, limit: int = 2) -> list[str]:
        """The title's words that raise `topic` most, by their own weights and their vectors:
        the evidence for a topic the lexicons did not find (none: the model knows no word of
        the title that speaks for it)."""
        words = list(dict.fromkeys(padded_title.split()))
        rows = [self.vocabulary.get(w, 0) for w in words]  # 0: unknown (the bias row)
        push = [w if row else 0.0 for w, row in zip(self.weights[rows, topic].tolist(), rows,
                                                     strict=True)]
        if self.vector_weights is not None and self.mass is not None:
            mass = float(self.mass[rows].sum())  # the bias row has no vector: mass 0
            if mass > 0:
                scale = 1.0 / math.sqrt(mass)
                push = [w + v * scale for w, v in
                        zip(push, self.vector_weights[rows, topic].tolist(), strict=True)]
        ranked = sorted(zip(push, words, strict=True), reverse=True)[:limit]
        return [w for p, w in ranked if p > 0]


def _fit(inputs: Any, dense: np.ndarray, labels: np.ndarray, row_weights: np.ndarray,
         l2: float) -> np.ndarray:
    """Weights ((sparse columns + dense columns) x topics) of one scikit-learn logistic
    regression per topic (L-BFGS; L2 penalty l2/2 * |w|^2 per training row, the intercept not
    penalised; rows weighted by `row_weights`, which average 1), with the intercept in row 0.
    `inputs` is a scipy.sparse CSR array whose column 0 is the constant 1 of the intercept. A
    topic that no training row has gets the log-odds of 1 / (rows + 1)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    n_rows, n_sparse = inputs.shape
    x = sparse.hstack([inputs[:, 1:], sparse.csr_array(dense)], format="csr")
    weights = np.zeros((n_sparse + dense.shape[1], labels.shape[1]), dtype=np.float32)
    for topic in range(labels.shape[1]):
        wanted = labels[:, topic]
        if not 0 < wanted.sum() < n_rows:
            weights[0, topic] = math.copysign(math.log(n_rows + 1), wanted.sum() - 0.5)
            continue
        fit = LogisticRegression(C=1.0 / (l2 * n_rows), solver="lbfgs", max_iter=2000,
                                 tol=1e-5).fit(x, wanted, sample_weight=row_weights)
        weights[0, topic] = fit.intercept_[0]
        weights[1:, topic] = fit.coef_[0]
    return weights


def _text(lines: Iterable[str]) -> np.ndarray:
    """Lines as UTF-8 bytes (numpy's string arrays would drop the features' NUL marks)."""
    return np.frombuffer("\n".join(lines).encode(), dtype=np.uint8)


def _untext(array: np.ndarray) -> list[str]:
    return array.tobytes().decode().split("\n") if array.size else []


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))
