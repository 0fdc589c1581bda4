"""A syndication flood through one worker on real Kafka: bounded state, bounded updates, and a
busy worker that still stops promptly on SIGTERM."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.alerts.desk import next_milestone
from agents.alerts.stories import FEED_CAP

from .conftest import BOOTSTRAP, TopicReader, wait_until, wirewatch

pytestmark = pytest.mark.kafka

RULES = [
    {"name": "peacekeepers", "any": ["peacekeeper*"], "severity": "high"},
    {"name": "karabakh", "any": ["Karabakh"]},
    {"name": "cop29", "any": ["COP29"]},
]
STORIES = {  # title -> the rules it matches
    "Russian peacekeepers begin withdrawal from the Karabakh region": {"peacekeepers",
                                                                       "karabakh"},
    "ICESCO Director-General invited to COP29 climate talks in Baku": {"cop29"},
    "Bitcoin price dips below $58,000 for the first time in two months": set(),
}
FEEDS = 200  # a milestone, so the last update must carry exactly this count
COPIES_PER_FEED = 2  # aggregators repeat a story under new URLs


def flood(copies_per_feed: int, tag: str) -> list[dict]:
    """Every story from every feed, ``copies_per_feed`` times, each copy under its own URL."""
    now = datetime.now(UTC).isoformat()
    return [
        {"id": f"{tag}-{s}-{feed}-{n}", "feed": f"feed-{feed}", "source": f"f{feed}.example",
         "title": ("UPDATE: " if n % 2 else "") + title if tag == "a" else title,
         "url": f"https://f{feed}.example/{tag}/{s}/{n}", "summary": "", "published": None,
         "fetched_at": now}
        for n in range(copies_per_feed) for feed in range(FEEDS)
        for s, title in enumerate(STORIES)
    ]


async def produce(topic: str, headlines: list[dict]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20)
    await producer.start()
    try:
        for item in headlines:
            await producer.send(topic, json.dumps(item).encode(), key=item["id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


def latest_values(messages: list[tuple[str | None, dict]]) -> dict[str, object]:
    state: dict[str, object] = {}
    for key, value in messages:
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    return state


class ChangelogReader(TopicReader):
    """A TopicReader of the desk's ``stories`` store on ``desk-state``: its keys, values
    (None for a tombstone) and each record's size in bytes."""

    async def drain(self, seconds: float) -> list:
        batches = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for records in batches.values():
            for r in records:
                store, _, key = r.key.decode().partition(":")
                self.sizes.append(len(r.value or b""))  # every store's records
                if store == "stories":
                    value = json.loads(r.value)["value"] if r.value is not None else None
                    self.messages.append((key, value))
                    self.story_sizes.append(len(r.value or b""))
        return self.messages

    async def __aenter__(self) -> ChangelogReader:
        self.sizes: list[int] = []
        self.story_sizes: list[int] = []
        return await super().__aenter__()  # type: ignore[return-value]


async def test_a_flood_keeps_state_and_updates_bounded_and_sigterm_stops_a_busy_worker(
        namespace: str, tmp_path: Path, start_worker) -> None:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": [], "rules": RULES,
                                  "stories": {"update_interval": 1}}))
    assert wirewatch(namespace, "rules", "apply", str(config)).returncode == 0
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    await admin.create_topics([NewTopic(f"{namespace}.headlines", 6, 1)])
    await admin.close()
    headlines = flood(COPIES_PER_FEED, "a")
    await produce(f"{namespace}.headlines", headlines)
    worker = start_worker(config)

    def desk_count() -> float:
        return worker.metrics().get(("wirewatch_desk_candidates_total", ()), 0.0)

    await wait_until(lambda: desk_count() >= len(headlines), 240, "the flood at the desk", worker)

    pairs = {(rule, title) for title, rules in STORIES.items() for rule in rules}
    async with TopicReader(f"{namespace}.alerts") as alerts:
        def final_updates_in(messages: list) -> bool:
            counts = [v["sources_count"] for _, v in messages if v["update"]]
            return counts.count(FEEDS) == len(pairs)

        await alerts.wait_for(final_updates_in, 60, "every pair's update with 200 sources",
                              worker)
        await alerts.drain(2)
    by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for key, value in alerts.messages:
        assert key == value["story_id"] and value["kind"] == "match"
        by_pair[value["rule"], value["story_id"]].append(value)
    # One alert per (rule, story): stories x matching rules.
    assert len(by_pair) == len(pairs)
    for records in by_pair.values():
        first, *updates = records
        assert not first["update"] and first["sources_count"] == 1
        assert all(u["update"] for u in updates)
        counts = [u["sources_count"] for u in updates]
        assert counts == sorted(set(counts)) and counts[-1] == FEEDS
        # Each update passed a milestone since the one before, and they were >= 1 s apart
        # (the update at 2 sources is never held).
        published = [1, *counts]
        assert all(next_milestone(a) <= b for a, b in pairwise(published))
        times = [datetime.fromisoformat(u["detected_at"]) for u in updates]
        assert all((b - a).total_seconds() >= 0.99 for a, b in pairwise(times[1:]))
        assert len(updates) <= 8  # 2, 3, 5, 10, 20, 50, 100, 200 at most
    assert {(rule, records[0]["title"].removeprefix("UPDATE: "))
            for (rule, _), records in by_pair.items()} == pairs

    async with ChangelogReader(f"{namespace}.desk-state") as changelog:
        await changelog.wait_for(lambda m: len(m) > 0, 30, "the stories changelog")
        read = -1
        while read != len(changelog.messages):  # until 2 s pass without a new record
            read = len(changelog.messages)
            await changelog.drain(2)
    assert max(changelog.sizes) < 64 * 1024
    state = latest_values(changelog.messages)
    stories = {k: v for k, v in state.items() if k.startswith("story:")}
    matched = [title for title, rules in STORIES.items() if rules]  # the desk files only these
    assert len(stories) == len(matched)
    for story in stories.values():
        assert story["sources"] == FEEDS and len(story["feeds"]) == FEED_CAP
        assert len(json.dumps(story)) < 2048
    # One URL entry per copy's URL, one source entry per feed past the cap: nothing else.
    assert sum(k.startswith("url:") for k in state) == len(matched) * FEEDS * COPIES_PER_FEED
    assert sum(k.startswith("src:") for k in state) == len(matched) * (FEEDS - FEED_CAP)
    story_sizes = [size for (key, _), size in zip(changelog.messages, changelog.story_sizes,
                                                  strict=True) if key.startswith("story:")]
    assert max(story_sizes) < 2048

    # A second, bigger flood keeps the worker busy; SIGTERM must still stop it within 10 s.
    busy = flood(12, "b")
    await produce(f"{namespace}.headlines", busy)
    before = desk_count()
    await wait_until(lambda: desk_count() > before + 500, 120, "the worker busy", worker)
    started = time.monotonic()
    returncode = worker.stop(timeout=30)
    stopped_in = time.monotonic() - started
    assert stopped_in < 10, f"SIGTERM took {stopped_in:.1f}s\n{worker.log_tail()}"
    assert returncode == 0, worker.log_tail()
