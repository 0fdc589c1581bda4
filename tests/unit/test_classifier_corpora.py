"""Real-corpus training rows and evaluation sets (agents/classify/corpora.py), and training the
topic model from a corpora directory (agents/classify/train.py), on tiny corpora in each of the
five formats that data/corpora.yaml uses."""

import json
import shutil
from pathlib import Path

import pytest

from agents.classify import Classifier, DataError
from agents.classify.corpora import (
    PlaceRow,
    evaluation_sets,
    load_specs,
    place_sets,
    title_key,
    training_rows,
)
from agents.classify.data_files import DATA_DIR, inputs_hash
from agents.classify.model import MODEL_FILE, ModelSettings, TopicRegression
from agents.classify.train import train

SPORT, POLITICS, ECONOMY = "medtop:15000000", "medtop:11000000", "medtop:04000000"


def write_corpora(root: Path) -> None:
    """One small corpus per format, laid out as data/corpora.yaml expects."""
    (root / "huffpost").mkdir(parents=True)
    items = [("Senate passes budget bill after long debate", "POLITICS", "2019-03-01"),
             ("Striker scores twice as City win derby", "SPORTS", "2020-05-01"),
             ("Ten easy dinners for busy weeknights", "FOOD & DRINK", "2021-01-01"),
             ("What the protests mean", "WORLD NEWS", "2021-02-01"),  # no topic: not used
             ("Goalkeeper saves penalty in cup final", "SPORTS", "2022-03-01"),  # evaluates
             ("Fed raises interest rates again", "BUSINESS", "2022-04-01")]
    (root / "huffpost" / "News_Category_Dataset_v3.json").write_text("".join(
        json.dumps({"headline": h, "category": c, "date": d, "link": "x"}) + "\n"
        for h, c, d in items))
    for category, title in (("business", "Shares slide as profits fall"),
                            ("sport", "Striker scores twice as City win derby"),  # a repeat
                            ("politics", "Fed raises interest rates again")):  # evaluated
        folder = root / "bbc" / category
        folder.mkdir(parents=True)
        (folder / "001.txt").write_bytes(
            f"{title}\n\nThe {category} story begins. It goes on.\n".encode("latin-1"))
    (root / "masakhanews-eng").mkdir()
    header = "category\theadline\ttext\turl\n"
    (root / "masakhanews-eng" / "train.tsv").write_text(
        header + "politics\tMinister resigns over leaked memo\tThe minister quit on Monday. "
        "More text.\t/news/uk-1\n")
    (root / "masakhanews-eng" / "test.tsv").write_text(
        header + "sports\tShares slide as profits fall\tText\t/news/business-2\n"
        + "health\tNew malaria vaccine approved\tText\t/news/health-3\n"
        + "politics\tCouncil tax rise agreed\tText\t/news/uk-england-devon-4\n"
        + "politics\tGovernor signs budget\tText\t/news/world-us-canada-5\n")
    (root / "ag_news").mkdir()
    (root / "ag_news" / "test.csv").write_text(
        'label,title,description\n'
        '2,"Sox win, Ortiz says it#39;s \\\\easy","AP - Boston"\n'
        '3,"Oil tops $50 (Reuters)","Reuters - Oil"\n')
    (root / "reuters21578").mkdir()
    doc = ('<REUTERS TOPICS="YES" LEWISSPLIT="{split}" NEWID="{n}">\n<TOPICS>{topics}</TOPICS>\n'
           "<TEXT>&#2;\n<TITLE>{title}</TITLE>\n<DATELINE>    NEW YORK, March 9 - </DATELINE>"
           "<BODY>{body}\n&#3;</BODY></TEXT>\n</REUTERS>\n")
    (root / "reuters21578" / "reut2-000.sgm").write_bytes(("<!DOCTYPE lewis>\n" + "".join((
        doc.format(split="TRAIN", n=1, topics="<D>acq</D><D>earn</D>",
                   title="CHAMPION PRODUCTS &lt;CH> APPROVES SALE",
                   body="Champion Products Inc said its board approved\nthe sale. More."),
        doc.format(split="TEST", n=2, topics="<D>grain</D>", title="WHEAT CROP FORECAST RAISED",
                   body="The crop is bigger."),
        doc.format(split="TRAIN", n=3, topics="", title="NO TOPIC HERE", body="None."),
    ))).encode("latin-1"))
    (root / "uci-news").mkdir()
    (root / "uci-news" / "train.txt").write_text(
        "7\tMeasles  cases rise in Ohio ...\thttp://x/1\tReuters\tm\tdA\tx\t1401413672242\n"
        "8\tNew malaria vaccine approved\thttp://x/2\tReuters\tm\tdB\tx\t1401413672242\n")


@pytest.fixture
def corpora(tmp_path: Path) -> Path:
    write_corpora(tmp_path / "corpora")
    return tmp_path / "corpora"


@pytest.fixture(scope="module")
def specs():
    return load_specs(DATA_DIR / "corpora.yaml")


def test_evaluation_sets_take_test_splits_and_map_to_coarse_classes(corpora, specs):
    sets = evaluation_sets(corpora, specs)
    assert sets["masakhanews"] == [("Shares slide as profits fall", "sport"),
                                   ("New malaria vaccine approved", "health"),
                                   ("Council tax rise agreed", "politics"),
                                   ("Governor signs budget", "politics")]
    assert sets["huffpost"] == [("Goalkeeper saves penalty in cup final", "sport"),
                                ("Fed raises interest rates again", "business")]
    assert sets["agnews"] == [("Sox win, Ortiz says it's easy", "sport"),
                              ("Oil tops $50 (Reuters)", "business")]
    assert "bbc2005" not in sets  # it only trains


def test_place_sets_take_the_country_from_the_url_section(corpora, specs):
    assert place_sets(corpora, specs) == {"masakhanews": [
        PlaceRow("Council tax rise agreed", frozenset({"GB"}), "uk", "GB"),
        PlaceRow("Governor signs budget", frozenset({"US", "CA"}), "world", None)]}


def test_training_rows_never_hold_an_evaluated_title(corpora, specs):
    rows, counts = training_rows(corpora, specs)
    titles = [title for title, _ in rows]
    assert ("Senate passes budget bill after long debate", [POLITICS]) in rows
    assert ("Minister resigns over leaked memo", [POLITICS]) in rows  # masakhane train split
    assert "Ten easy dinners for busy weeknights" in titles  # FOOD & DRINK -> lifestyle
    assert "What the protests mean" not in titles  # a category with no topic
    assert "Goalkeeper saves penalty in cup final" not in titles  # dated in the held-out year
    assert "Shares slide as profits fall" not in titles  # in MasakhaNEWS's test split
    assert "Fed raises interest rates again" not in titles  # in HuffPost's held-out rows
    assert titles.count("Striker scores twice as City win derby") == 1
    # ledes train too, unless their article's title is held out
    assert ("The minister quit on Monday.", [POLITICS]) in rows
    assert ("The sport story begins.", [SPORT]) in rows
    assert "The business story begins." not in titles  # "Shares slide ..." is evaluated
    # UCI News Aggregator: a cut title loses its "..."; an evaluated title never trains
    assert ("Measles cases rise in Ohio", ["medtop:07000000"]) in rows
    assert "New malaria vaccine approved" not in titles
    # Reuters-21578: only the Lewis TRAIN split, only documents with a topic, no ticker
    assert ("CHAMPION PRODUCTS APPROVES SALE", [ECONOMY]) in rows
    assert ("Champion Products Inc said its board approved the sale.", [ECONOMY]) in rows
    assert "WHEAT CROP FORECAST RAISED" not in titles and "NO TOPIC HERE" not in titles
    assert counts == {"huffpost": 3, "bbc2005": 1, "masakhanews": 2, "uci_news": 1,
                      "reuters21578": 2}
    held_out = {title_key(t) for rows in evaluation_sets(corpora, specs).values() for t, _ in rows}
    assert not held_out & {title_key(t) for t in titles}


def test_a_missing_corpus_names_the_path(corpora, specs):
    shutil.rmtree(corpora / "bbc")
    with pytest.raises(DataError, match=r"bbc: missing"):
        training_rows(corpora, specs)


def test_a_bad_news_aggregator_row_names_file_and_line(corpora, specs):
    with (corpora / "uci-news" / "train.txt").open("a") as out:
        out.write("9\tNo timestamp here\n")
    with pytest.raises(DataError, match=r"train\.txt:3: not a News Aggregator row"):
        training_rows(corpora, specs)


def test_bad_corpora_yaml_names_file_and_corpus(tmp_path: Path):
    path = tmp_path / "corpora.yaml"
    path.write_text("corpora:\n  mine:\n    format: xml\n    path: x\n")
    with pytest.raises(DataError, match=r"corpora\.yaml: corpus mine: format must be one of"):
        load_specs(path)
    path.write_text("corpora:\n  mine:\n    format: ag_csv\n    path: x\n"
                    "    coarse: {a: []}\n    coarse_of: {'1': b}\n")
    with pytest.raises(DataError, match=r"corpus mine: coarse_of names classes not in coarse"):
        load_specs(path)


def test_train_saves_a_model_from_the_corpora_and_the_supplement(tmp_path: Path, corpora):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    path, counts = train(tmp_path / "data", corpora)
    assert counts["huffpost"] == 3 and counts["supplement (self-written)"] > 100
    settings = ModelSettings.load(tmp_path / "data" / "model.yaml")
    assert path == tmp_path / "data" / MODEL_FILE
    assert TopicRegression.load(path, settings, inputs_hash(tmp_path / "data")) is not None
    classifier = Classifier.load(tmp_path / "data")
    topics = classifier.classify("Senate passes budget bill").topics
    assert topics and topics[0].code == POLITICS and topics[0].evidence


def test_stale_model_trains_at_load_when_the_corpora_are_at_hand(tmp_path: Path, corpora,
                                                                caplog, monkeypatch):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    with (tmp_path / "data" / "training.jsonl").open("a") as out:
        out.write('{"title": "Quidditch final ends in chaos", "topics": ["medtop:03000000"]}\n')
    monkeypatch.setenv("WIREWATCH_CORPORA", str(corpora))
    with caplog.at_level("WARNING"):
        edited = Classifier.load(tmp_path / "data")
    assert "action=training_now" in caplog.text
    assert edited.classify("Quidditch final ends in chaos").topic_labels[0] == \
        "disaster/accident"
