"""The optional naive Bayes topic model on top of the lexicons (agents/classify/model.py)."""

import json
import shutil
from pathlib import Path

import pytest

from agents.classify import Classifier, DataError
from agents.classify.classifier import DATA_DIR, _version
from agents.classify.matcher import pad
from agents.classify.model import ModelSettings, NaiveBayes, TopicAdder, features

SETTINGS = ModelSettings(enabled=True, training="training.jsonl", alpha=0.5, temperature=1.0,
                         add_threshold=0.6, alone_threshold=0.6, max_added=1, max_share=1.0)
# topic indexes 0 "ships", 1 "cakes"
ROWS = [(pad("ferry sails to island"), {0}), (pad("cargo ship sails at dawn"), {0}),
        (pad("baker wins cake prize"), {1}), (pad("chocolate cake recipe"), {1}),
        (pad("ferry crew bakes cake"), {0, 1})]


def test_training_is_deterministic():
    first = TopicAdder.train(ROWS, [set()] * len(ROWS), 2, SETTINGS)
    again = TopicAdder.train(list(reversed(ROWS)), [set()] * len(ROWS), 2, SETTINGS)
    assert first.model.weights == again.model.weights
    assert first.model.prior == again.model.prior


def test_words_seen_with_a_topic_raise_its_odds():
    model = NaiveBayes([(features(p, ()), t) for p, t in ROWS], 2, alpha=0.5)
    z = model.log_odds(features(pad("ferry sails"), ()))
    assert z[0] > 0 > z.get(1, -1.0)


def test_model_adds_only_missing_topics():
    adder = TopicAdder.train(ROWS, [set()] * len(ROWS), 2, SETTINGS)
    assert [t for t, _ in adder.extra(pad("ferry sails"), [])] == [0]
    assert adder.extra(pad("ferry sails"), [0]) == []  # the lexicons already have it


@pytest.fixture(scope="module")
def enabled(tmp_path_factory) -> Classifier:
    data_dir = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / "model.yaml"
    path.write_text(path.read_text().replace("enabled: false", "enabled: true"))
    return Classifier.load(data_dir)


def test_model_topics_carry_model_evidence_and_keep_lexicon_topics(enabled):
    lexicons = enabled.with_model(None)
    lines = (DATA_DIR / "training.jsonl").read_text(encoding="utf-8").splitlines()
    titles = [json.loads(line)["title"] for line in lines[:300]]
    added = 0
    for title in titles:
        with_model = enabled.classify(title).topics
        alone = lexicons.classify(title).topics
        assert with_model[:len(alone)] == alone  # never removes or reorders lexicon topics
        for topic in with_model[len(alone):]:
            added += 1
            assert topic.evidence == [f"model:{topic.score:.2f}"]
            assert 0.5 < topic.score <= 1
        assert len(with_model) <= enabled.max_topics
    assert added > 0


def test_training_file_is_part_of_the_version(tmp_path: Path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    before = _version(tmp_path / "data")
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "Ferry sails", "topics": ["medtop:10000000"]}\n')
    assert _version(tmp_path / "data") != before


def test_bad_training_line_names_file_and_line(tmp_path: Path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    path = tmp_path / "data" / "model.yaml"
    path.write_text(path.read_text().replace("enabled: false", "enabled: true"))
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "x", "topics": ["medtop:99"]}\n')
    with pytest.raises(DataError, match=r"training\.jsonl:\d+: unknown topic"):
        Classifier.load(tmp_path / "data")
