"""Static word vectors (data/word_vectors.npz) and headline vectors. They let the topic model
generalise from the training headlines to words it never saw there ("thrash" near "beat",
"Masters" near "golf"). Built by `tools/wordvectors_build.py`.

A word's vector has the length of its weight (rarer words weigh more), and a headline's vector
is the sum of its distinct known words' vectors divided by sqrt(sum of their squared lengths):
the normalised sum if the words' directions were unrelated, and, unlike the exact normalisation,
linear in the word vectors. So once the topic model has learnt a matrix M (dimensions x topics),
it keeps vector @ M and the squared length per word, and a headline costs it a lookup per word
(`TopicRegression`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from agents.classify.errors import DataError

VECTORS_FILE = "word_vectors.npz"


def table_rows(key_sets: Iterable[Iterable[str]],
               index: dict[str, int]) -> tuple[list[int], list[int]]:
    """The table rows of each title's keys that `index` knows (rows start at 1), each title's
    led by row 0, and where each title's rows start: the arguments of `np.add.reduceat`."""
    get = index.get
    rows: list[int] = []
    starts = []
    for keys in key_sets:
        starts.append(len(rows))
        rows.append(0)
        rows.extend(filter(None, map(get, keys)))
    return rows, starts


def scaled_sums(table: np.ndarray, mass: np.ndarray, rows: list[int],
                starts: list[int]) -> np.ndarray:
    """Per title, the sum of its rows of `table` divided by sqrt(sum of their `mass`): the
    headline vector when `table` holds the word vectors and `mass` their squared lengths
    (zeros for a title without any)."""
    sums = np.add.reduceat(table[rows], starts)
    norms = np.sqrt(np.add.reduceat(mass[rows], starts))[:, None]
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


class WordVectors:
    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        self.index = {word: i for i, word in enumerate(words, 1)}  # row 0: zeros
        self.table = np.vstack([np.zeros((1, vectors.shape[1]), np.float32),
                                vectors.astype(np.float32)])
        self.mass = (self.table ** 2).sum(axis=1)  # squared lengths

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        try:
            with np.load(path) as data:
                words = str(data["words"]).split("\n")
                vectors = data["vectors"]
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: cannot read word vectors ({exc})") from exc
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise DataError(f"{path}: {len(words)} words but vectors of shape {vectors.shape}")
        return cls(words, vectors)

    def embed(self, padded_titles: Sequence[str]) -> np.ndarray:
        """One headline vector per title (zeros when none of its words is known)."""
        rows, starts = table_rows((dict.fromkeys(p.split()) for p in padded_titles), self.index)
        return scaled_sums(self.table, self.mass, rows, starts)
