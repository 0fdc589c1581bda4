"""Static word vectors (data/word_vectors.npz) and headline vectors. They let the topic model
generalise from the training headlines to words it never saw there ("thrash" near "beat",
"Masters" near "golf"). Built by `wordvectors_build`.

A word's vector has the length of its weight (rarer words weigh more), and a headline's vector
is the sum of its known words' vectors divided by sqrt(sum of their squared weights): the
normalised sum if the words' directions were unrelated, and, unlike the exact normalisation,
linear in the word vectors. So once the model has learnt a matrix M (dimensions x topics),
`project(M)` keeps one number per topic per word, and a headline's log-odds cost a lookup of
17 numbers per word instead of 128 (`ProjectedVectors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agents.classify.errors import DataError

VECTORS_FILE = "word_vectors.npz"


class _WordRows:
    """Rows per word (row 0: zeros, for titles without a known word), summed per title."""

    def __init__(self, index: dict[str, int], table: np.ndarray, mass: np.ndarray) -> None:
        self.index = index
        self.table = table  # one row per word, row 0 zeros
        self.mass = mass  # squared length of each word's vector, row 0 zero

    def apply(self, padded_titles: Sequence[str]) -> np.ndarray:
        """sum(rows) / sqrt(sum(mass)) of each title's known words (zeros if it has none)."""
        get = self.index.get
        rows: list[int] = []
        starts = []
        for padded in padded_titles:
            starts.append(len(rows))
            rows.append(0)
            rows.extend(filter(None, map(get, padded.split())))
        sums = np.add.reduceat(self.table[rows], starts)
        norms = np.sqrt(np.add.reduceat(self.mass[rows], starts))[:, None]
        return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


class WordVectors(_WordRows):
    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        table = np.vstack([np.zeros((1, vectors.shape[1]), np.float32),
                           vectors.astype(np.float32)])
        super().__init__({word: i for i, word in enumerate(words, 1)}, table,
                         (table ** 2).sum(axis=1))

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
        return self.apply(padded_titles)

    def project(self, matrix: np.ndarray) -> ProjectedVectors:
        """`embed(titles) @ matrix`, computed from one row of matrix's width per word."""
        return ProjectedVectors(self.index, (self.table @ matrix).astype(np.float32), self.mass)


class ProjectedVectors(_WordRows):
    """Word vectors multiplied by a matrix: `apply(titles)` is `WordVectors.embed(titles) @
    matrix`."""
