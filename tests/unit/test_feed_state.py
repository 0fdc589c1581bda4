"""FeedState and its table format: seen ids (retention, cap, once-a-day stamps), compact
segments, and writes only of what changed."""

import json

from streams.feeds.entries import headline_id
from streams.feeds.state import (
    SEEN_MAX,
    SEEN_REFRESH,
    SEEN_RETENTION,
    FeedState,
    decode_seen,
    encode_seen,
    load_state,
    remember,
    seen_key,
    segment_key,
    state_writes,
)

DAY = 86_400.0


def ids(n: int, prefix: str = "item") -> list[str]:
    return [seen_key(headline_id(f"{prefix}-{i}")) for i in range(n)]


class Table(dict):
    """What the polling agent does with the Faust table, counting the bytes written."""

    written = 0

    def save(self, feed: str, stored, new: FeedState) -> dict:
        writes = state_writes(feed, stored, new)
        for key, value in writes.items():
            self.written += len(key) + len(json.dumps(value))
            if value is None:
                del self[key]
            else:
                self[key] = json.loads(json.dumps(value))  # as the changelog carries it
        return writes


def test_remember_adds_current_and_keeps_recently_gone() -> None:
    now = 100 * DAY
    seen = {"gone-recently": now - DAY, "gone-long-ago": now - SEEN_RETENTION - 1}
    kept = remember(seen, ["a", "b"], now)
    assert kept == {"gone-recently": now - DAY, "a": now, "b": now}


def test_remember_counts_retention_from_when_an_id_was_last_stamped() -> None:
    """An id listed for longer than the retention is still remembered just after it leaves."""
    start = 0.0
    seen = remember({}, ["pinned"], start)
    seen = remember(seen, ["pinned"], start + SEEN_RETENTION + DAY)  # still in the feed
    left = start + SEEN_RETENTION + 2 * DAY
    seen = remember(seen, ["other"], left)  # gone since the last poll
    assert "pinned" in seen
    assert "pinned" not in remember(seen, ["other"], left + SEEN_RETENTION + DAY)


def test_remember_restamps_an_id_still_listed_once_a_day() -> None:
    seen = remember({}, ["a"], 0.0)
    assert remember(seen, ["a"], SEEN_REFRESH - 1) == {"a": 0.0}  # unchanged: nothing to write
    assert remember(seen, ["a"], SEEN_REFRESH) == {"a": SEEN_REFRESH}


def test_remember_cap_drops_oldest_gone_first() -> None:
    now = 100 * DAY
    current = [f"cur-{i}" for i in range(SEEN_MAX - 2)]
    gone = {f"gone-{i}": now - (i + 1) * 60 for i in range(5)}  # gone-4 is the oldest
    kept = remember(gone, current, now)
    assert len(kept) == SEEN_MAX
    assert set(current) <= set(kept)
    assert {k for k in kept if k.startswith("gone-")} == {"gone-0", "gone-1"}


def test_seen_ids_encode_to_twelve_bytes_each_and_back() -> None:
    seen = dict.fromkeys(ids(100), 1_700_000_000.0)
    text = encode_seen(seen)
    assert decode_seen(text) == seen
    assert len(text) == 100 * 12 * 4 // 3


def test_core_record_round_trip_and_old_inline_format() -> None:
    state = FeedState(etag='"e"', last_modified="Wed, 01 May 2024 12:00:00 GMT",
                      last_attempt=12.5, last_success=12.5, failures=2, retry_at=99.0,
                      last_error="timeout: slow")
    assert "seen" not in state.to_json()
    assert FeedState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert FeedState.from_json(None) == FeedState() == FeedState.from_json({})
    full_id = headline_id("x")  # records of the single-record format held 32-char ids
    old = FeedState.from_json({"etag": '"e"', "seen": {full_id: 5.0}})
    assert old.seen == {seen_key(full_id): 5.0}


def test_full_state_stays_far_below_the_broker_limit() -> None:
    table = Table()
    state = FeedState(seen=remember({}, ids(50_000), 1000.0))  # the cap applies
    table.save("big", load_state(table.get, "big"), state)
    assert len(state.seen) == SEEN_MAX
    # 16 base64 characters an id: all of them together stay far below Kafka's 1 MB limit
    assert table.written < SEEN_MAX * 16 + 1000
    assert load_state(table.get, "big").state == state


def test_writes_only_what_changed() -> None:
    table = Table()
    first = FeedState(etag='"1"', last_attempt=1000.0, last_success=1000.0,
                      seen=remember({}, ids(3000), 1000.0))
    table.save("f", load_state(table.get, "f"), first)
    stored = load_state(table.get, "f")
    assert stored.state == first

    # A 304: only the poll times changed, nothing is written.
    polled = FeedState(**{**first.to_json(), "last_attempt": 1300.0, "last_success": 1300.0},
                       seen=remember(first.seen, list(first.seen), 1300.0))
    assert table.save("f", stored, polled) == {}

    # One new item: the core (new etag) and one segment, a small part of the whole.
    before = table.written
    [new_id] = ids(1, "new")
    grown = FeedState(etag='"2"', last_attempt=1600.0, last_success=1600.0,
                      seen=remember(first.seen, [*first.seen, new_id], 1600.0))
    writes = table.save("f", stored, grown)
    assert set(writes) == {"f", segment_key("f", new_id[0])}
    assert table.written - before < before / 10
    assert load_state(table.get, "f").state == grown


def test_a_segment_emptied_is_deleted_and_the_old_format_is_rewritten() -> None:
    table = Table({"f": {"etag": '"e"', "seen": {headline_id("x"): 5.0}}})
    stored = load_state(table.get, "f")
    key = segment_key("f", seen_key(headline_id("x"))[0])
    table.save("f", stored, stored.state)
    assert "seen" not in table["f"] and key in table
    stored = load_state(table.get, "f")
    table.save("f", stored, FeedState(etag='"e"', seen={}))
    assert key not in table and load_state(table.get, "f").state == FeedState(etag='"e"')


def test_damaged_records_are_logged_and_replaced_not_fatal(caplog) -> None:
    good = encode_seen({seen_key(headline_id("kept")): 5.0})
    table = Table({"f": {"etag": 7, "failures": "many", "retry_at": 99.0, "extra": 1},
                   segment_key("f", "0"): "not base64 at all!",
                   segment_key("f", "1"): {"a": "dict"},
                   segment_key("f", "2"): good[:-4],  # cut: not a whole number of ids
                   segment_key("f", seen_key(headline_id("kept"))[0]): good})
    with caplog.at_level("WARNING", logger="streams.feeds.state"):
        stored = load_state(table.get, "f")
        assert stored.state.etag is None and stored.state.failures == 0
        assert stored.state.retry_at == 99.0
        assert dict(stored.state.seen) == {seen_key(headline_id("kept")): 5.0}
    assert 'feed_state_invalid feed=f key=f error="unusable etag, failures' in caplog.text
    for digit in "012":
        assert f"key=f/seen/{digit}" in caplog.text
    assert load_state(lambda key: ["a", "list"] if key == "f" else None, "f").state == FeedState()
    # The next save replaces every damaged record.
    table.save("f", stored, FeedState(etag='"e"', seen=dict(stored.state.seen)))
    assert table["f"]["etag"] == '"e"' and "extra" not in table["f"]
    assert all(segment_key("f", d) not in table for d in "012")
