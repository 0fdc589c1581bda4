"""DeskState: the desk's stores in memory, one changelog record per changed key per batch,
and the same stores rebuilt from those records."""

import json

import pytest

from agents.alerts.desk_state import DeskState


def test_changes_are_one_record_per_changed_key_with_tombstones():
    state = DeskState()
    stories, alerted = state.stores["stories"], state.stores["alerted"]
    for n in range(1000):
        stories["story:a"] = {"sources": n}
    stories["url:x"] = ["a", 3]
    alerted["last:r"] = 1.5
    del stories["url:x"]
    assert stories.get("url:x") is None and "story:a" in stories and len(stories) == 1
    with pytest.raises(KeyError):
        del stories["never"]
    records = dict(state.changes())
    assert records == {
        "stories:story:a": b'{"value":{"sources":999}}', "stories:url:x": None,
        "alerted:last:r": b'{"value":1.5}',
    }
    assert state.changes() == []  # nothing changed since


def test_state_rebuilt_from_its_changelog_equals_the_original():
    state = DeskState()
    state.stores["stories"]["story:é"] = {"title": "Café", "feeds": ["a", "b"]}
    state.stores["surges"]["key:k"] = {"buckets": {"1": 2}, "surging_at": None}
    state.stores["stories"]["gone"] = 1
    log = state.changes()
    del state.stores["stories"]["gone"]
    log += state.changes()
    rebuilt = DeskState()
    for key, value in log:
        rebuilt.apply(key, value)
    assert {n: s.data for n, s in rebuilt.stores.items()} == {
        n: s.data for n, s in state.stores.items()}
    assert rebuilt.changes() == []  # applying the changelog writes nothing back
    assert rebuilt.size() == 2
    assert json.loads(log[0][1]) == {"value": {"title": "Café", "feeds": ["a", "b"]}}


def test_iterating_a_store_while_deleting_from_it_is_safe():
    state = DeskState()
    alerted = state.stores["alerted"]
    for n in range(10):
        alerted[f"pair:r:{n}"] = {"at": n}
    for key in alerted:
        if alerted[key]["at"] < 5:
            del alerted[key]
    assert sorted(alerted) == [f"pair:r:{n}" for n in range(5, 10)]


def test_a_record_of_an_unknown_store_is_refused():
    with pytest.raises(KeyError):
        DeskState().apply("tables:x", b'{"value":1}')
