"""The headline pipeline end to end on real Apache Kafka, with a local news site."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from .conftest import (
    TopicReader,
    Worker,
    add_stories,
    cli_lines,
    create_topics,
    site_feeds,
    topic_list,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.kafka

def per_feed(messages: list) -> Counter:
    return Counter(value["feed"] for _, value in messages)


async def test_new_headlines_land_once_and_later_ones_follow(
    news_site, namespace, tmp_path, start_worker
):
    first = add_stories(news_site, "Azerbaijan continues clearing Karabakh of mines",
                        "UAE takes precautions ahead of expected storm",
                        "ICESCO Director-General invited to COP29")
    broken = {"name": "broken", "url": f"{news_site.base_url}/missing", "interval": 1}
    config = write_config(tmp_path / "wirewatch.yaml", [*site_feeds(news_site), broken])
    worker = start_worker(config)

    async with TopicReader(f"{namespace}.headlines") as reader:
        await reader.wait_for(lambda m: len(m) >= 6, 90, "the first 6 headlines", worker)
        # Several more polls: unchanged pages answer 304 and emit nothing.
        polled = news_site.requests["/rss"]
        await wait_until(lambda: news_site.not_modified["/rss"] >= 2
                         and news_site.not_modified["/latest"] >= 2, 30, "304 answers", worker)
        assert news_site.requests["/rss"] > polled
        messages = await reader.drain(2)
        assert per_feed(messages) == {"site-rss": 3, "site-latest": 3}
        assert {v["title"] for _, v in messages} == {s.title for s in first}
        for key, value in messages:
            assert key == value["id"]
            assert value["source"] == "127.0.0.1"
            assert value["url"].startswith(news_site.base_url + "/news/")
            assert "utm_source" not in value["url"]
            assert value["fetched_at"].endswith("Z")
            assert set(value) == {"id", "feed", "source", "title", "url", "summary",
                                  "published", "fetched_at"}

        later = add_stories(news_site, "Bitcoin price dips below $58,000 first time in two months")
        await reader.wait_for(lambda m: len(m) >= 8, 60, "the later headline", worker)
        await reader.drain(3)
        new = [v for _, v in reader.messages[6:]]
        assert sorted(v["feed"] for v in new) == ["site-latest", "site-rss"]
        assert {v["title"] for v in new} == {later[0].title}

    # `wirewatch headlines` shows the same, as JSON lines or one readable line each.
    printed = await asyncio.to_thread(
        cli_lines, namespace, "headlines", "--from-beginning", "--json", count=8)
    assert sorted(json.loads(line)["id"] for line in printed) == sorted(
        v["id"] for _, v in reader.messages)
    readable = await asyncio.to_thread(
        cli_lines, namespace, "headlines", "--from-beginning", count=8)
    assert any("[site-rss] Bitcoin price dips below $58,000" in line for line in readable)

    # The broken feed never stopped the others, and the operator can see why it fails.
    errors = await asyncio.to_thread(worker.metrics)
    assert errors[("wirewatch_feed_poll_errors_total",
                   (("feed", "broken"), ("reason", "http_4xx")))] >= 1
    assert errors[("wirewatch_feed_polls_total",
                   (("feed", "site-rss"), ("outcome", "not_modified")))] >= 2


async def test_worker_restart_emits_nothing_again(news_site, namespace, tmp_path, start_worker):
    add_stories(news_site, "Iran's supreme leader says Palestine must be returned",
                "BRICS de-dollarization threatens US economy")
    config = write_config(tmp_path / "wirewatch.yaml", site_feeds(news_site))
    first = start_worker(config, "first")
    async with TopicReader(f"{namespace}.headlines") as reader:
        await reader.wait_for(lambda m: len(m) >= 4, 90, "the first headlines", first)
        assert await asyncio.to_thread(first.stop) == 0, first.log_tail()

        requests_before = sum(news_site.requests.values())
        second = start_worker(config, "second")
        # The restarted worker polls the site again (state came back from Kafka: 304s)...
        await wait_until(lambda: sum(news_site.requests.values()) >= requests_before + 4,
                         90, "polls after the restart", second)
        await reader.drain(3)
        assert len(reader.messages) == 4, [v["title"] for _, v in reader.messages]
        assert news_site.not_modified["/rss"] >= 1
        # ...and still finds what is really new.
        add_stories(news_site, "Azerbaijani premier meets Malaysian Parliament Senate president")
        await reader.wait_for(lambda m: len(m) >= 6, 60, "the new headline", second)
        await reader.drain(3)
        assert len(reader.messages) == 6
        landed = Counter((v["feed"], v["id"]) for _, v in reader.messages)
        assert set(landed.values()) == {1}


QUIET_WINDOW = 8  # seconds: every feed (interval 1 s) is polled several times in it


def group_view(worker: Worker, ticks_topic: str) -> tuple[float, float, float] | None:
    """(poll-ticks partitions held, assignments received, rebalancing 0/1) per /metrics;
    None while it does not answer."""
    samples = worker.metrics()
    if not samples:
        return None
    return (samples.get(("wirewatch_assigned_partitions", (("topic", ticks_topic),)), 0.0),
            samples.get(("wirewatch_assignments_total", ()), 0.0),
            samples.get(("wirewatch_rebalancing", ()), 1.0))


async def test_two_workers_share_feeds_and_take_over(news_site, namespace, tmp_path, start_worker):
    add_stories(news_site, "Hungary against Armenia's militarisation")
    names = [f"feed-{i:02d}" for i in range(12)]
    feeds = [{"name": n, "url": f"{news_site.base_url}/rss?f={n}", "interval": 1} for n in names]
    config = write_config(tmp_path / "wirewatch.yaml", feeds)
    # As deployments do: topics created while workers start make the group rebalance again
    # once their metadata reaches it (and auto-created ones have one partition).
    await create_topics(namespace)
    ticks_topic = f"{namespace}.poll-ticks"
    [partitions] = [n for name, n, _ in await asyncio.to_thread(topic_list, namespace)
                    if name == ticks_topic]
    a = start_worker(config, "a")
    b = start_worker(config, "b")
    async with TopicReader(f"{namespace}.headlines") as reader:
        await reader.wait_for(lambda m: len(m) >= 12, 120, "a headline from every feed", a)

        def views() -> tuple[tuple[float, float, float] | None, ...]:
            return group_view(a, ticks_topic), group_view(b, ticks_topic)

        def settled() -> bool:
            """Both out of any rebalance, holding the poll-ticks partitions between them."""
            view_a, view_b = views()
            if view_a is None or view_b is None:
                return False
            (held_a, _, busy_a), (held_b, _, busy_b) = view_a, view_b
            return (not busy_a and not busy_b and held_a > 0 and held_b > 0
                    and held_a + held_b == partitions)

        # In a quiet window (no rebalance began or ended in it), each feed is polled by
        # exactly one worker. A window a rebalance ran into is not quiet: take another.
        for _ in range(3):
            await wait_until(settled, 120, "both workers' assignment settled", b)
            before = views()
            a1, b1 = await asyncio.to_thread(lambda: (a.polls(), b.polls()))
            await asyncio.sleep(QUIET_WINDOW)
            a2, b2 = await asyncio.to_thread(lambda: (a.polls(), b.polls()))
            after = views()
            # A worker that stops answering mid-window is a failure, not an unquiet window.
            assert all((a1, b1, a2, b2, *after)), f"/metrics unanswered: {before} -> {after}"
            if after == before:
                break
            print(f"window not quiet, taking another: (held, assignments, rebalancing) "
                  f"{before} -> {after}")
        else:
            raise AssertionError(f"no quiet {QUIET_WINDOW} s window in 3: the group kept "
                                 f"rebalancing\n{a.log_tail()}\n{b.log_tail()}")
        by_a = {n for n in names if a2[n] > a1[n]}
        by_b = {n for n in names if b2[n] > b1[n]}
        assert by_a | by_b == set(names), f"feeds nobody polled: {set(names) - by_a - by_b}"
        assert not by_a & by_b, f"feeds polled by both workers: {by_a & by_b}"
        assert by_a and by_b, "the feeds were not shared"

        # One worker stops: the other takes over all of its feeds.
        assert await asyncio.to_thread(a.stop) == 0, a.log_tail()
        taken = await asyncio.to_thread(b.polls)
        await wait_until(lambda: all(b.polls()[n] > taken[n] for n in names), 90,
                         "the survivor polling every feed", b)
        await reader.drain(2)
        assert Counter(v["feed"] for _, v in reader.messages) == dict.fromkeys(names, 1)
