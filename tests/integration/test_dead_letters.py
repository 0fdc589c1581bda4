"""Poison records on real Kafka: each lands on wirewatch.dead, and the agents go on."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from streams.embedded_broker import free_port

from .conftest import KAFKA_OPTIONS, TopicReader, cli_lines, create_topics, wait_until

pytestmark = pytest.mark.kafka

HEADLINE = {"id": "good-1", "feed": "probe", "source": "example.org",
            "title": "Peacekeepers leave Karabakh", "url": "https://example.org/good-1",
            "summary": "", "published": None, "fetched_at": "2026-01-01T00:00:00+00:00"}
CLASSIFIED = {**HEADLINE, "id": "good-2", "url": "https://example.org/good-2",
              "topics": [{"code": "medtop:16000000", "label": "conflict/war/peace",
                          "score": 0.9, "evidence": ["peacekeepers"]}],
              "countries": [{"code": "AZ", "name": "Azerbaijan", "score": 1.0,
                             "evidence": ["Karabakh"]}],
              "regions": [{"name": "South Caucasus", "kind": "geopolitical",
                           "countries": ["AZ"], "evidence": []}],
              "region_names": ["South Caucasus"], "language": "en",
              "classifier_version": "test"}
MATCH = {"rule": "probe-rule", "severity": "high", "score": None,
         "matched": [{"term": "peacekeep*", "field": "title", "start": 0, "end": 12,
                      "text": "Peacekeepers"}]}
CANDIDATE = {"headline": {**CLASSIFIED, "id": "good-3", "url": "https://example.org/good-3"},
             "matches": [MATCH]}
ALERT = {"alert_id": "a-1", "rule": "direct-rule", "severity": "low", "kind": "match",
         "matched": MATCH["matched"], "story_id": "story-1", "title": "Direct alert",
         "url": "https://example.org/direct", "source": "example.org", "feed": "probe",
         "published": None, "detected_at": "2026-01-01T00:00:01+00:00", "topics": [],
         "regions": [], "countries": [], "sources_count": 1, "update": False,
         "schema_version": 1}
TICK = {"feed": "probe-feed", "sent_at": 1.0}

GOOD = {"poll-ticks": TICK, "headlines": HEADLINE, "classified": CLASSIFIED,
        "alert-candidates": CANDIDATE, "alerts": ALERT}


class ObjectReader(TopicReader):
    """A ``TopicReader`` for topics that also hold this test's poison: JSON objects only."""

    async def drain(self, seconds: float) -> list[tuple[str | None, dict]]:
        batches = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for records in batches.values():
            for r in records:
                try:
                    value = json.loads(r.value)
                except ValueError:  # UnicodeDecodeError included
                    continue
                if isinstance(value, dict):
                    self.messages.append((None, value))
        return self.messages


def encode(value: object) -> bytes:
    return json.dumps(value).encode()


def poisons(suffix: str) -> list[tuple[bytes, bytes, str]]:
    """(key, value, expected reason) of the poison records written to one topic."""
    good = GOOD[suffix]
    first_field = next(iter(good))
    cases = [
        (b"k", encode([good]), "not_object"),
        (b"k", encode({k: v for k, v in good.items() if k != first_field}), "missing_field"),
        (b"k", encode({**good, first_field: 12345}), "wrong_type"),
        (b"k", b"this is not JSON", "not_json"),
        (b"k", b"\xff\xfe{\"id\": \"\xc3\x28\"}", "not_utf8"),
        (b"\xff\xfekey", encode(good), "bad_key"),
    ]
    if suffix == "alerts":  # an unknown severity used to crash deliver_alerts
        cases.append((b"k", encode({**good, "severity": "apocalyptic"}), "invalid_value"))
    if suffix == "alert-candidates":  # a candidate without its headline crashed raise_alerts
        cases.append((b"k", encode({"matches": []}), "missing_field"))
    return cases


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/hook", received
    await runner.cleanup()


async def test_poison_records_are_dead_lettered_and_good_ones_go_through(
        namespace, tmp_path, start_worker, webhook):
    url, received = webhook
    await create_topics(namespace)
    expected: dict[tuple[str, int], tuple[str, bytes, bytes]] = {}
    producer = AIOKafkaProducer(**KAFKA_OPTIONS)
    await producer.start()
    try:
        for suffix, good in GOOD.items():
            topic = f"{namespace}.{suffix}"
            for key, value, reason in poisons(suffix):
                sent = await producer.send_and_wait(topic, value, key=key, partition=0)
                expected[(topic, sent.offset)] = (reason, key, value)
            # The good record comes after the poison on the same partition.
            await producer.send_and_wait(topic, encode(good), key=b"good", partition=0)
    finally:
        await producer.stop()

    config = tmp_path / "wirewatch.yaml"
    config.write_text(json.dumps({"feeds": [], "sinks": [{"name": "hook", "url": url}]}))
    worker = start_worker(config)

    async with TopicReader(f"{namespace}.dead") as dead:
        await dead.wait_for(lambda m: len(m) >= len(expected), 120,
                            f"{len(expected)} dead letters", worker)
        await dead.drain(2)
        letters = {(v["topic"], v["offset"]): (k, v) for k, v in dead.messages}
    assert set(letters) == set(expected)
    assert len(dead.messages) == len(expected)  # one dead letter per poison record
    for (topic, offset), (reason, key, value) in expected.items():
        record_key, letter = letters[(topic, offset)]
        assert record_key == topic
        assert letter["partition"] == 0
        assert letter["reason"] == reason, (topic, offset, letter["error"])
        assert letter["error"]
        assert base64.b64decode(letter["value_base64"]) == value
        assert base64.b64decode(letter["key_base64"]) == key
        assert letter["value_truncated"] is False and letter["schema_version"] == 1

    # Every good record went through its agent, after the poison before it.
    async with ObjectReader(f"{namespace}.classified") as classified:
        await classified.wait_for(lambda m: any(v.get("id") == "good-1" for _, v in m), 90,
                                  "the good headline classified", worker)
    async with ObjectReader(f"{namespace}.alert-candidates") as candidates:
        await candidates.wait_for(
            lambda m: any(v.get("headline") == {**CLASSIFIED, "id": "good-2"} for _, v in m), 60,
            "the good classified headline matched", worker)
    async with ObjectReader(f"{namespace}.alerts") as alerts:
        await alerts.wait_for(lambda m: any(v.get("rule") == "probe-rule" for _, v in m), 60,
                              "the good candidate's alert", worker)
    await wait_until(lambda: any(a["alert_id"] == "a-1" for a in received), 60,
                     "the good alert delivered to the webhook", worker)
    await wait_until(lambda: "tick_for_unknown_feed feed=probe-feed" in
                     worker.log_path.read_text(), 30, "the good tick handled", worker)

    # `wirewatch alerts` reads past the poison too (an unknown severity used to stop it).
    # It prints values only, so the good alert under a non-UTF-8 key shows as well.
    printed = await asyncio.to_thread(cli_lines, namespace, "alerts", "--from-beginning",
                                      "--json", "--min-severity", "low", count=3)
    assert sorted(json.loads(line)["rule"] for line in printed) == [
        "direct-rule", "direct-rule", "probe-rule"]

    metrics = await asyncio.to_thread(worker.metrics)
    counted = Counter((topic, reason) for (topic, _), (reason, _, _) in expected.items())
    for suffix in GOOD:
        topic = f"{namespace}.{suffix}"
        for reason in ("not_utf8", "not_json", "not_object", "missing_field", "wrong_type",
                       "invalid_value", "bad_key", "empty"):
            labels = (("reason", reason), ("topic", topic))
            assert metrics[("wirewatch_dead_letters_total", labels)] == counted[(topic, reason)]
    assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    assert "Traceback" not in worker.log_path.read_text(), worker.log_tail(80)
