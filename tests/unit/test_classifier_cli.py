"""`wirewatch classify` I/O: plain or JSON lines in, one JSON line out per headline."""

import io
import json

import pytest

from agents.classify import Classifier
from agents.classify.command import classify_stream


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def run(clf, text):
    out, err = io.StringIO(), io.StringIO()
    count = classify_stream(io.StringIO(text), out, clf, err=err)
    return count, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_plain_and_json_lines(clf):
    text = ("Azerbaijan continues clearing Karabakh of mines\n"
            "\n"
            '{"id": 7, "title": "Talks resume", "summary": "Envoys met in Yerevan."}\n')
    count, rows, err = run(clf, text)
    assert count == 2 and err == ""
    assert rows[0]["title"] == "Azerbaijan continues clearing Karabakh of mines"
    assert rows[0]["countries"][0]["code"] == "AZ"
    assert "South Caucasus" in rows[0]["region_names"]
    assert rows[1]["id"] == 7 and rows[1]["summary"] == "Envoys met in Yerevan."
    assert rows[1]["countries"][0]["code"] == "AM"
    for row in rows:
        assert {"topics", "countries", "regions", "language", "classifier_version"} <= set(row)


def test_bad_lines_are_reported_and_skipped(clf):
    text = ('{"title": "Kremlin says talks are possible"}\n'
            '{"title": broken\n'
            '{"headline": "no title field"}\n'
            "Pentagon announces aid\n")
    count, rows, err = run(clf, text)
    assert count == 2
    assert [r["countries"][0]["code"] for r in rows] == ["RU", "US"]
    assert "line 2: invalid JSON" in err
    assert "line 3: JSON object needs a string 'title' field" in err
