"""The statistical topic model on top of the lexicons (agents/classify/model.py)."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from agents.classify import Classifier, DataError
from agents.classify.data_files import DATA_DIR, inputs_hash
from agents.classify.matcher import pad
from agents.classify.model import (
    LEXICON_BEST_FEATURE,
    LEXICON_FEATURE,
    MODEL_FILE,
    ModelSettings,
    TopicRegression,
    features,
)
from agents.classify.wordvectors import WordVectors

SETTINGS = ModelSettings(enabled=True, training="training.jsonl", l2=0.001, vectors=None,
                         vector_scale=1.0, min_count=1, threshold=0.5, alone_threshold=0.3)
# topic indexes 0 "ships", 1 "cakes", 2 "weather" (never seen)
TITLES = [("ferry sails to island", {0}), ("cargo ship sails at dawn", {0}),
          ("baker wins cake prize", {1}), ("chocolate cake recipe", {1}),
          ("ferry crew bakes cake", {0, 1})]
HEADLINES = [(pad(title), []) for title, _ in TITLES]
TOPICS = [topics for _, topics in TITLES]


def train(settings: ModelSettings = SETTINGS, vectors: WordVectors | None = None,
          extra: tuple[tuple[str, list[int], set[int]], ...] = ()) -> TopicRegression:
    return TopicRegression.train(HEADLINES + [(pad(t), lex) for t, lex, _ in extra],
                                 TOPICS + [topics for _, _, topics in extra], 3, settings,
                                 vectors)


def test_features_are_words_stems_and_lexicon_topics():
    found = features(pad("Strikers shut ports"), [3, 7])
    assert {"strikers", "shut", "ports"} <= found
    assert "shut ports" not in found  # word pairs cost more throughput than they gain
    assert "~strik" in found  # the stem of a word longer than five letters
    assert "~ports" not in found  # five letters: the word is its own stem
    assert {f"{LEXICON_FEATURE}3", f"{LEXICON_FEATURE}7", f"{LEXICON_BEST_FEATURE}3"} <= found
    assert f"{LEXICON_BEST_FEATURE}7" not in found


def test_training_is_deterministic():
    first, again = train(), train()
    assert first.vocabulary == again.vocabulary
    assert np.array_equal(first.weights, again.weights)


def test_words_seen_with_a_topic_raise_its_odds():
    model = train()
    z = model.log_odds([(pad("ferry sails"), [])])
    assert z[0, 0] > 0 > z[0, 1]
    assert z[0, 2] < z[0, 1]  # a topic no training headline had stays least likely
    assert [t for t, _ in model.choose(z, [[]])[0]] == [0]
    assert model.reasons(pad("ferry sails"), 0) != []
    assert set(model.reasons(pad("ferry sails"), 0)) <= {"ferry", "sails"}


def test_choose_applies_the_thresholds():
    model = train()
    rows = np.array([[1.0, 2.0, -3.0],  # two over the threshold
                     [-1.0, -2.0, -3.0],  # best p = 0.27: under both thresholds
                     [-1.0, -2.0, -3.0],
                     [-2.0, -0.5, -3.0]])  # best p = 0.38: over alone_threshold only
    both, weak, weak_with_evidence, alone = model.choose(rows, [[], [], [2, 1], []])
    assert [t for t, _ in both] == [1, 0]  # every topic over the threshold, best first
    assert 0.5 < both[1][1] < both[0][1] < 1
    assert weak == []
    assert [t for t, _ in weak_with_evidence] == [1]  # the likelier of the lexicons' topics
    assert [t for t, _ in alone] == [1]


def test_unknown_words_leave_only_the_bias():
    model = train()
    z = model.log_odds([(pad("zzz qqq"), [])])
    assert np.array_equal(z[0], model.weights[0])
    assert model.reasons(pad("zzz qqq"), 0) == []


def test_log_odds_of_a_batch_match_one_at_a_time():
    model = train()
    titles = [(pad("ferry sails"), []), (pad("zzz"), []), (pad("cake ferry"), [1])]
    batch = model.log_odds(titles)
    for row, title in zip(batch, titles, strict=True):
        assert np.allclose(row, model.log_odds([title])[0])


def test_min_count_drops_rare_words_but_keeps_lexicon_features():
    model = train(dataclasses.replace(SETTINGS, min_count=2), extra=(("rare words", [2], {2}),))
    assert "rare" not in model.vocabulary and "cake" in model.vocabulary
    assert f"{LEXICON_FEATURE}2" in model.vocabulary


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def test_topics_carry_lexicon_or_model_evidence(classifier):
    lexicons = classifier.with_model(None)
    lines = (DATA_DIR / "training.jsonl").read_text(encoding="utf-8").splitlines()
    model_only = 0
    for line in lines[:300]:
        title = json.loads(line)["title"]
        by_lexicon = {t.code: t.evidence for t in lexicons.classify(title).topics}
        topics = classifier.classify(title).topics
        assert len(topics) <= classifier.max_topics
        assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
        for topic in topics:
            assert 0 < topic.score <= 1
            if topic.code in by_lexicon:
                assert topic.evidence == by_lexicon[topic.code]
            else:
                model_only += 1
                assert all(e.startswith("model:") for e in topic.evidence)
                title_words = set(pad(title).split())
                for reason in topic.evidence:
                    assert set(reason.removeprefix("model:").split()) <= title_words
    assert model_only > 0


def test_model_settings_come_from_model_yaml(tmp_path: Path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    path = tmp_path / "data" / "model.yaml"
    path.write_text(path.read_text().replace("enabled: true", "enabled: false"))
    assert Classifier.load(tmp_path / "data").classify("Ferry sails").topics == \
        Classifier.load(DATA_DIR).with_model(None).classify("Ferry sails").topics
    path.write_text(path.read_text().replace("threshold: ", "threshold: 1.5 #", 1))
    with pytest.raises(DataError, match=r"model\.yaml: threshold must be a probability"):
        Classifier.load(tmp_path / "data")


def test_training_file_is_part_of_the_version(tmp_path: Path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    before = inputs_hash(tmp_path / "data")
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "Ferry sails", "topics": ["medtop:10000000"]}\n')
    assert inputs_hash(tmp_path / "data") != before


def test_bad_training_line_names_file_and_line(tmp_path: Path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "x", "topics": ["medtop:99"]}\n')
    settings = ModelSettings.load(tmp_path / "data" / "model.yaml")
    with pytest.raises(DataError, match=r"training\.jsonl:\d+: unknown topic"):
        Classifier.load(tmp_path / "data", topic_model=False).train_from(
            tmp_path / "data", settings, None)


def test_word_vectors_carry_a_topic_to_words_training_never_saw():
    vectors = WordVectors(["ferry", "ship", "boat", "cake", "bakes", "muffin"],
                          np.array([[1, 0], [1, 0.1], [0.95, 0.05], [0, 1], [0.1, 1], [0.05, 1]],
                                   dtype=np.float32))
    with_vectors = train(dataclasses.replace(SETTINGS, vector_scale=3.0), vectors)
    without = train()
    boat = [(pad("boat"), [])]  # "boat" is in no training headline
    assert with_vectors.log_odds(boat)[0, 0] > with_vectors.log_odds(boat)[0, 1]
    assert np.allclose(without.log_odds(boat)[0], without.weights[0])
    muffin = [(pad("muffin"), [])]
    assert with_vectors.log_odds(muffin)[0, 1] > with_vectors.log_odds(muffin)[0, 0]


def test_the_bundled_model_was_saved_from_the_bundled_data():
    settings = ModelSettings.load(DATA_DIR / "model.yaml")
    saved = TopicRegression.load(DATA_DIR / MODEL_FILE, settings, inputs_hash(DATA_DIR))
    assert saved is not None, "stale: run `make classifier-model` after editing the data"


def test_saved_model_gives_the_trained_model_results(tmp_path: Path):
    vectors = WordVectors(["ferry", "cake"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    model = train(dataclasses.replace(SETTINGS, vector_scale=2.0), vectors)
    model.save(tmp_path / MODEL_FILE, "hash-1")
    assert TopicRegression.load(tmp_path / MODEL_FILE, SETTINGS, "hash-2") is None
    assert TopicRegression.load(tmp_path / "missing.npz", SETTINGS, "hash-1") is None
    loaded = TopicRegression.load(tmp_path / MODEL_FILE, SETTINGS, "hash-1")
    titles = [(pad("Ferry crew bakes cake"), [1]), (pad("zzz"), [])]
    assert np.allclose(loaded.log_odds(titles), model.log_odds(titles), atol=1e-5)
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"broken\.npz: cannot read the saved topic model"):
        TopicRegression.load(tmp_path / "broken.npz", SETTINGS, "hash-1")


def test_edited_data_keeps_the_saved_model_with_a_warning(tmp_path: Path, caplog,
                                                          monkeypatch):
    monkeypatch.delenv("WIREWATCH_CORPORA", raising=False)
    shutil.copytree(DATA_DIR, tmp_path / "data")
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "Quidditch final ends in chaos", "topics": ["medtop:15000000"]}\n')
    with caplog.at_level("WARNING"):
        edited = Classifier.load(tmp_path / "data")
    assert "topic_model_stale" in caplog.text and "action=using_saved" in caplog.text
    assert edited.classify("Flash floods kill 12 in Valencia").topic_labels[0] == \
        "disaster/accident"
