"""Feed state on real Kafka: the changelog carries what changed (nothing on a 304), in
small records, with no secret of a feed URL."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from .conftest import TopicReader, add_stories, wait_until, write_config

pytestmark = pytest.mark.kafka


async def changelog(namespace: str) -> list[tuple[str, str]]:
    """Every (key, value as JSON text) on the feed-state changelog so far (no test here
    empties a seen segment, so there are no tombstones)."""
    async with TopicReader(f"{namespace}-feed-state-changelog") as reader:
        count = -1
        while count < len(await reader.drain(2)):
            count = len(reader.messages)
    return [(json.loads(key or "null"), json.dumps(value)) for key, value in reader.messages]


async def test_changelog_carries_only_changes_in_small_records(
    news_site, namespace, tmp_path, start_worker
):
    add_stories(news_site, "Parliament passes the budget", "Storm closes the coast road",
                "Talks resume in Geneva")
    feeds = [{"name": "site-rss", "url": f"{news_site.base_url}/rss", "interval": 1},
             {"name": "keyed", "url": f"{news_site.base_url}/missing?api_key=SECRET",
              "interval": 1}]
    worker = start_worker(write_config(tmp_path / "wirewatch.yaml", feeds))
    async with TopicReader(f"{namespace}.headlines") as reader:
        await reader.wait_for(lambda m: len(m) >= 3, 90, "the first headlines", worker)
        await wait_until(lambda: news_site.not_modified["/rss"] >= 5, 60, "304s", worker)
        quiet = Counter(key for key, _ in await changelog(namespace))
        # One first poll wrote the core and a segment per first hex digit of the 3 ids;
        # five and more 304s since wrote nothing.
        assert quiet["site-rss"] == 1, quiet
        segments = {k for k in quiet if k.startswith("site-rss/seen/")}
        assert 1 <= len(segments) <= 3 and all(quiet[k] == 1 for k in segments)

        add_stories(news_site, "Court rules on the port contract")
        await reader.wait_for(lambda m: len(m) >= 4, 60, "the new headline", worker)
        await wait_until(lambda: news_site.not_modified["/rss"] >= 7, 60, "more 304s", worker)
        records = await changelog(namespace)
    grown = Counter(key for key, _ in records)
    assert grown["site-rss"] == 2  # the new ETag
    changed_segments = sum(grown[k] for k in grown if k.startswith("site-rss/seen/")) - sum(
        quiet[k] for k in segments)
    assert changed_segments == 1  # the one segment holding the new id
    assert all(len(value) < 2000 for key, value in records if key.startswith("site-rss"))
    # The failing feed's key shows neither in its stored state nor in the worker's log.
    keyed = [json.loads(value) for key, value in records if key == "keyed"]
    assert keyed and keyed[0]["last_error"].startswith("http_4xx")
    assert all("SECRET" not in value for _, value in records)
    log = worker.log_path.read_text(errors="replace")
    assert "feed=keyed" in log and "api_key=***" in log and "SECRET" not in log
