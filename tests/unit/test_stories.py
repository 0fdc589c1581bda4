"""Story de-duplication: same URL or near-duplicate title within the window is one story."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from agents.alerts.stories import (
    BAND_CAP,
    FEED_CAP,
    SWEEP_CHUNKS,
    StoryIndex,
    jaccard,
    story_url_key,
    title_shingles,
)

T0 = datetime(2024, 11, 11, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TITLE = "Russian peacekeepers begin withdrawal from Nagorno-Karabakh"


def h(title: str, url: str, feed: str = "f1") -> dict:
    return {"id": f"{feed}:{url}", "feed": feed, "source": feed, "title": title, "url": url}


@pytest.fixture
def store() -> dict:
    return {}


@pytest.fixture
def index(store) -> StoryIndex:
    return StoryIndex(store, timedelta(hours=48))


def test_same_story_from_two_feeds_is_one_story_with_two_sources(index):
    first = index.assign(h(TITLE, "https://news.example/a"), T0)
    second = index.assign(h(TITLE, "https://news.example/a", feed="f2"), T0 + timedelta(minutes=5))
    assert first.is_new and first.sources_count == 1 and first.matched_by is None
    assert not second.is_new
    assert second.story_id == first.story_id
    assert second.sources_count == 2
    assert second.new_source
    assert second.matched_by == "url"
    assert second.first_seen == T0


def test_repeat_from_same_feed_is_not_a_new_source(index):
    first = index.assign(h(TITLE, "https://news.example/a"), T0)
    again = index.assign(h(TITLE, "https://news.example/a"), T0 + timedelta(minutes=1))
    assert again.story_id == first.story_id
    assert not again.new_source
    assert again.sources_count == 1


def test_url_variants_are_one_story(index):
    first = index.assign(h("Short one", "https://www.news.example/a/?utm_source=rss#top"), T0)
    second = index.assign(h("Other words", "http://news.example/a"), T0)
    assert second.story_id == first.story_id
    assert second.matched_by == "url"


@pytest.mark.parametrize(
    "edited",
    [
        "Russian peacekeepers begin withdrawal from Nagorno Karabakh",
        "Russian peacekeepers begin their withdrawal from Nagorno-Karabakh",
        "Russian peace-keepers begin withdrawal from Nagórno-Karabakh",
        "UPDATE: Russian peacekeepers begin withdrawal from Nagorno-Karabakh",
    ],
)
def test_edited_title_with_new_url_is_the_same_story(index, edited):
    first = index.assign(h(TITLE, "https://a.example/1"), T0)
    second = index.assign(h(edited, "https://b.example/xyz", feed="f2"), T0 + timedelta(hours=1))
    assert second.story_id == first.story_id
    assert second.matched_by == "title"
    assert second.sources_count == 2


@pytest.mark.parametrize(
    "other",
    [
        "Azerbaijan and Armenia sign peace treaty in Washington",
        "Russian troops begin exercises near Kaliningrad border",
        "Peacekeepers withdraw from Lebanon after forty years",
    ],
)
def test_different_titles_are_different_stories(index, other):
    first = index.assign(h(TITLE, "https://a.example/1"), T0)
    second = index.assign(h(other, "https://b.example/2"), T0)
    assert second.is_new
    assert second.story_id != first.story_id


def test_short_titles_never_join_by_title(index):
    first = index.assign(h("Live updates", "https://a.example/1"), T0)
    second = index.assign(h("Live updates", "https://b.example/2"), T0)
    assert second.is_new
    assert second.story_id != first.story_id


def test_story_expires_after_window_of_silence(index):
    first = index.assign(h(TITLE, "https://a.example/1"), T0)
    kept = index.assign(h(TITLE, "https://a.example/1", "f2"), T0 + timedelta(hours=40))
    assert kept.story_id == first.story_id  # within 48 h of the first sighting
    still = index.assign(h(TITLE, "https://a.example/1", "f3"), T0 + timedelta(hours=87))
    assert still.story_id == first.story_id  # within 48 h of the last sighting (40 h)
    fresh = index.assign(h(TITLE, "https://a.example/1", "f4"), T0 + timedelta(hours=136))
    assert fresh.is_new
    assert fresh.story_id != first.story_id


def test_state_is_pruned_and_bounded(store, index):
    rng = random.Random(7)
    vocabulary = ["".join(rng.choices("bdfgklmnprstvz", k=3)) + "a" for _ in range(300)]
    for i in range(50):
        title = " ".join(rng.sample(vocabulary, 6))
        index.assign(h(title, f"https://a.example/{i}"), T0)
    stories = [k for k in store if k.startswith("story:")]
    assert len(stories) == 50
    later = T0 + timedelta(hours=50)
    index.assign(h("A completely different late story", "https://a.example/late"), later)
    remaining = sorted(k.split(":")[0] for k in store)
    assert remaining.count("story") == 1
    assert remaining.count("url") == 1
    assert all(not k.startswith("band:") or store[k] for k in store)
    assert len([k for k in store if k.startswith("band:")]) == 8
    assert len([k for k in store if k.startswith("ledger:")]) == 2  # the late story's bucket


def test_prune_reports_dropped_count(index):
    index.prune(T0)  # starts the sweep clock
    index.assign(h(TITLE, "https://a.example/1"), T0)
    assert index.prune(T0 + timedelta(hours=47)) == 0
    assert index.prune(T0 + timedelta(hours=50)) == 1


def test_state_is_json_and_survives_a_new_index(store, index):
    first = index.assign(h(TITLE, "https://a.example/1"), T0)
    restored = json.loads(json.dumps(store))
    again = StoryIndex(restored, timedelta(hours=48)).assign(
        h(TITLE, "https://other.example/9", "f2"), T0 + timedelta(minutes=3)
    )
    assert again.story_id == first.story_id
    assert again.sources_count == 2


def test_story_url_key():
    assert (
        story_url_key("https://WWW.Example.org/a/b/?x=1&utm_source=rss#f") == "example.org/a/b?x=1"
    )
    assert story_url_key("http://example.org/") == "example.org"


def test_shingle_similarity():
    a = title_shingles(TITLE)
    assert jaccard(a, title_shingles(TITLE.upper())) == 1.0
    assert jaccard(a, title_shingles("Something else entirely")) < 0.2


def test_invalid_windows_rejected(store):
    with pytest.raises(ValueError, match="positive"):
        StoryIndex(store, timedelta(0))


class RecordingStore(dict):
    """A dict that remembers the JSON size of every value written, per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, int]] = []

    def __setitem__(self, key, value):
        self.writes.append((key, len(json.dumps(value))))
        super().__setitem__(key, value)


def test_a_flood_story_keeps_a_bounded_record_and_an_exact_source_count():
    store = RecordingStore()
    index = StoryIndex(store, timedelta(hours=48))
    feeds = 3 * FEED_CAP + 7
    first = index.assign(h(TITLE, "https://wire.example/0", "feed-0"), T0)
    sizes, per_copy = [], []
    for i in range(1, 3000):
        before = len(store.writes)
        copy = h(TITLE, f"https://site{i}.example/story-{i}", f"feed-{i % feeds}")
        got = index.assign(copy, T0 + timedelta(seconds=i))
        assert got.story_id == first.story_id
        assert got.new_source == (i < feeds)
        per_copy.append(len(store.writes) - before)
        sizes.append(len(json.dumps(store[f"story:{first.story_id}"])))
    story = store[f"story:{first.story_id}"]
    assert story["sources"] == feeds  # exact, past the feed cap
    assert len(story["feeds"]) == FEED_CAP
    assert story["first_title"] == TITLE and story["first_url"] == "https://wire.example/0"
    assert "url_keys" not in story
    assert max(sizes) == sizes[FEED_CAP]  # stops growing once the feed list is full
    assert max(sizes) < 2000
    assert max(per_copy) <= 5  # story, url entry, source entry, ledger chunk (+ its count)
    assert max(size for _, size in store.writes) < 20_000  # a full ledger chunk is the largest
    assert len([k for k in store if k.startswith("url:")]) == 3000  # every URL still finds it
    again = index.assign(h("Other words", "https://site77.example/story-77", "x"), T0)
    assert again.story_id == first.story_id and again.matched_by == "url"


def test_band_buckets_keep_only_the_newest_stories():
    store: dict = {}
    index = StoryIndex(store, timedelta(hours=48), similarity=1.01)  # never joins by title
    ids = [index.assign(h(TITLE, f"https://a.example/{i}", f"f{i}"), T0).story_id
           for i in range(3 * BAND_CAP)]
    bands = [v for k, v in store.items() if k.startswith("band:")]
    assert len(bands) == 8
    assert all(band == ids[-BAND_CAP:] for band in bands)


def test_url_entries_of_a_long_lived_story_move_with_it_then_expire():
    store: dict = {}
    index = StoryIndex(store, timedelta(hours=2))
    first = index.assign(h(TITLE, "https://a.example/old"), T0)
    for hour in range(1, 8):  # the story is seen every hour, under new URLs
        got = index.assign(h(TITLE, f"https://a.example/{hour}", "f2"), T0 + hour * HOUR)
        assert got.story_id == first.story_id
    # The first URL was last seen 7 h ago, but its story lives on: it still leads there.
    old = index.assign(h("Short", "https://a.example/old", "f3"), T0 + 7 * HOUR)
    assert old.story_id == first.story_id and old.matched_by == "url"
    index.prune(T0 + 12 * HOUR)
    assert [k for k in store if not k.startswith(("band:", "meta:"))] == []
    assert not [k for k in store if k.startswith("band:")]


def test_a_big_bucket_is_swept_a_few_chunks_per_call():
    store: dict = {}
    index = StoryIndex(store, timedelta(hours=1))
    index.prune(T0)
    for i in range(3000):  # one story per URL: 6,000 keys in one hour's ledger
        index.assign(h("Live updates", f"https://a.example/{i}", "f1"), T0)
    later = T0 + 3 * HOUR
    dropped = [index.prune(later) for _ in range(10)]
    assert 0 < dropped[0] <= SWEEP_CHUNKS * 500
    assert sum(dropped) == 3000
    assert not [k for k in store if k.startswith(("story:", "url:", "ledger:"))]


def test_story_ids_come_from_content_so_a_replay_keeps_them():
    items = [h(TITLE, "https://a.example/1", "f1"), h(TITLE, "https://b.example/2", "f2"),
             h("Azerbaijan and Armenia sign peace treaty in Washington", "https://c.example/3")]
    first = [StoryIndex({}).assign(item, T0).story_id for item in items[:1]]
    replay = StoryIndex({})  # state lost; replayed an hour later
    again = [replay.assign(item, T0 + HOUR).story_id for item in items]
    assert again[0] == again[1] == first[0]
    assert again[2] != again[0]
