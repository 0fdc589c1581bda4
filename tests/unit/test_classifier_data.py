"""Bad classifier data files fail with an error naming the file and the entry."""

import shutil
from pathlib import Path

import pytest

from agents.classify import Classifier, DataError
from agents.classify.data_files import DATA_DIR, load_taxonomy


@pytest.fixture
def data_dir(tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_edited_data_changes_results_and_version(data_dir):
    bundled = Classifier.load()
    append(data_dir / "gazetteer" / "places.tsv", "Gotham\tUS\tcity\n")
    edited = Classifier.load(data_dir)
    assert edited.classify("Storm hits Gotham").country_codes == ["US"]
    assert bundled.classify("Storm hits Gotham").country_codes == []
    assert edited.version != bundled.version


def test_unknown_country_code_in_places(data_dir):
    path = data_dir / "gazetteer" / "places.tsv"
    lines = path.read_text(encoding="utf-8").count("\n")
    append(path, "Atlantis\tQQ\tcity\n")
    with pytest.raises(DataError, match=rf"places\.tsv:{lines + 1}: unknown country code 'QQ'"):
        Classifier.load(data_dir)


def test_same_name_two_countries_in_places(data_dir):
    append(data_dir / "gazetteer" / "places.tsv", "Kremlin\tUS\tmetonym\n")
    with pytest.raises(DataError, match=r"'Kremlin' already mapped to RU on line \d+"):
        Classifier.load(data_dir)


def test_term_without_weight(data_dir):
    replace(data_dir / "topics.yaml", "      peace talks: 1\n", "      peace talks: lots\n")
    with pytest.raises(DataError, match=r"topics\.yaml: topic 'conflict/war/peace': term "
                                        r"'peace talks' needs a numeric weight"):
        Classifier.load(data_dir)


def test_duplicate_term_spelling(data_dir):
    replace(data_dir / "topics.yaml", "      peace talks: 1\n",
            "      peace talks: 1\n      Peace-talks: 2\n")
    with pytest.raises(DataError, match="'peace talks' and 'Peace-talks' match the same text"):
        Classifier.load(data_dir)


def test_region_with_bad_country(data_dir):
    append(data_dir / "regions.yaml",
           "  - name: Atlantis\n    kind: geopolitical\n    countries: [AZ, azz]\n")
    with pytest.raises(DataError, match=r"region 'Atlantis': countries must be ISO"):
        Classifier.load(data_dir)


def test_region_with_unknown_kind(data_dir):
    append(data_dir / "regions.yaml", "  - name: Atlantis\n    kind: mythical\n"
                                      "    countries: [AZ]\n")
    with pytest.raises(DataError, match=r"region 'Atlantis': kind must be one of"):
        Classifier.load(data_dir)


def test_ambiguity_rule_without_default(data_dir):
    append(data_dir / "gazetteer" / "ambiguous.yaml", "Paris:\n  first_name: true\n")
    with pytest.raises(DataError, match=r"ambiguous\.yaml: rule 'Paris': needs a 'default'"):
        Classifier.load(data_dir)


def test_missing_file(data_dir):
    (data_dir / "languages.yaml").unlink()
    with pytest.raises(DataError, match=r"languages\.yaml: cannot read"):
        Classifier.load(data_dir)


def test_explicit_plural_keeps_its_own_weight(data_dir):
    replace(data_dir / "topics.yaml", "      sport: 1\n",
            "      sport: 1\n      quidditch match: 1\n      quidditch matches: -2\n")
    clf = Classifier.load(data_dir, topic_model=False)  # the lexicons alone
    assert [t.label for t in clf.classify("Quidditch match resumes").topics] == ["sport"]
    assert "sport" not in [t.label for t in clf.classify("Quidditch matches resume").topics]


def test_taxonomy_names_topics_by_label_and_code_and_regions_from_the_data_files(data_dir):
    taxonomy = load_taxonomy()
    assert {"conflict/war/peace", "medtop:16000000"} <= taxonomy.topics
    assert "Sub-Saharan Africa" in taxonomy.regions
    append(data_dir / "regions.yaml", "  - name: Atlantis\n    kind: m49\n    countries: [GR]\n")
    assert "Atlantis" in load_taxonomy(data_dir).regions
    assert "Atlantis" not in taxonomy.regions
