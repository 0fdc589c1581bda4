"""Word vectors and headline vectors (agents/classify/wordvectors.py)."""

from pathlib import Path

import numpy as np
import pytest

from agents.classify import DataError
from agents.classify.matcher import pad
from agents.classify.wordvectors import WordVectors

VECTORS = WordVectors(["ferry", "boat", "cake"],
                      np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 2.0]], dtype=np.float32))


def test_a_headline_vector_sums_its_distinct_known_words_scaled_by_their_lengths():
    rows = VECTORS.embed([pad("Ferry and cake, cake"), pad("nothing known"), pad("boat")])
    assert np.allclose(rows[0], np.array([1.0, 2.0]) / np.sqrt(5))
    assert np.array_equal(rows[1], [0.0, 0.0])  # no known word: no direction
    assert np.allclose(np.linalg.norm(rows[2]), 1.0)


def test_batches_match_single_titles():
    titles = [pad("boat boat cake"), pad("zzz"), pad("ferry")]
    batch = VECTORS.embed(titles)
    for row, title in zip(batch, titles, strict=True):
        assert np.allclose(row, VECTORS.embed([title])[0])


def test_bad_file_names_the_file(tmp_path: Path):
    path = tmp_path / "word_vectors.npz"
    np.savez(path, words="a\nb", vectors=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"word_vectors\.npz: 2 words but vectors of shape"):
        WordVectors.load(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz: cannot read word vectors"):
        WordVectors.load(tmp_path / "junk.npz")

