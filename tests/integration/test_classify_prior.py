"""The feed's `country:` prior on real Kafka: the same headline from two feeds of one site,
one with `country: GB`, is read as GB only where the feed's config says so."""

from __future__ import annotations

import json

import pytest

from .conftest import TopicReader, add_stories

pytestmark = pytest.mark.kafka


async def test_feed_country_reaches_the_classifier(news_site, namespace, tmp_path,
                                                   start_worker):
    feeds = [{"name": "site-uk", "url": f"{news_site.base_url}/rss", "interval": 1,
              "country": "GB"},
             {"name": "site-world", "url": f"{news_site.base_url}/rss?edition=world",
              "interval": 1}]
    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": feeds}), encoding="utf-8")
    add_stories(news_site, "Shropshire farm fire spreads to nearby woodland")
    worker = start_worker(config)
    async with TopicReader(f"{namespace}.classified") as classified:
        await classified.wait_for(lambda m: len(m) >= 2, 120, "2 classified headlines", worker)
        by_feed = {v["feed"]: v for _, v in classified.messages}
    assert [(c["code"], c["evidence"]) for c in by_feed["site-uk"]["countries"]] == \
        [("GB", ["Shropshire"])]
    assert by_feed["site-world"]["countries"] == []  # no prior: the county is not matched
