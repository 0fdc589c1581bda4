"""WriteBehind: reads see held writes; the table changes only on flush, once per key."""

import pytest

from agents.alerts.writebehind import WriteBehind


class CountingTable(dict):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.sets = 0
        self.deletes = 0

    def __setitem__(self, key, value):
        self.sets += 1
        super().__setitem__(key, value)

    def pop(self, key, *default):
        self.deletes += 1
        return super().pop(key, *default)


def test_writes_are_held_until_flush_and_sent_once_per_key():
    table = CountingTable({"kept": 1, "gone": 2})
    view = WriteBehind(table)
    for n in range(1000):
        view["story"] = n
    del view["gone"]
    assert view["story"] == 999 and "gone" not in view and view.get("gone") is None
    assert sorted(view) == ["kept", "story"] and len(view) == 2
    with pytest.raises(KeyError):
        view["gone"]
    with pytest.raises(KeyError):
        del view["never"]
    assert table == {"kept": 1, "gone": 2} and table.sets == 0
    assert view.flush() == 2
    assert table == {"kept": 1, "story": 999}
    assert (table.sets, table.deletes) == (1, 1)
    assert view.flush() == 0


def test_a_key_deleted_then_written_again_is_written():
    table = CountingTable({"k": 1})
    view = WriteBehind(table)
    del view["k"]
    view["k"] = 3
    view.flush()
    assert table == {"k": 3}
