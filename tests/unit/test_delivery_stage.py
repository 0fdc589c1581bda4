"""The delivery stage's glue, driven through its batch handler ``deliver_batch`` as the
``BatchStage`` calls it (a partition and its decoded records): updates are skipped; every
other alert goes to each sink whose rule and severity filters accept it, and to no other.
The sinks are webhooks on a local server that records what each receives.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiokafka import TopicPartition

from agents.alerts import delivery
from agents.alerts.sink_kinds import Sink, load_sinks
from streams.batch_stage import StageRecord
from streams.records import Alert
from streams.topics import ALERTS

PARTITION = TopicPartition(ALERTS, 0)


class Receivers:
    """Webhook endpoints ``/<sink>`` on 127.0.0.1, recording the alert ids each one gets.
    The sinks in ``held`` answer only once ``release`` is set."""

    def __init__(self) -> None:
        self.received: defaultdict[str, list[str]] = defaultdict(list)
        self.changed = asyncio.Event()
        self.held: set[str] = set()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        sink = request.match_info["sink"]
        if sink in self.held:
            await self.release.wait()
        self.received[sink].append(body["alert_id"])
        self.changed.set()
        return web.Response(status=204)

    async def wait_for(self, sink: str, alert_id: str) -> None:
        while alert_id not in self.received[sink]:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), timeout=30)


@pytest.fixture
async def receivers(serve_app: Callable[[web.Application], Awaitable[str]]
                    ) -> tuple[Receivers, str]:
    hooks = Receivers()
    app = web.Application()
    app.router.add_post("/{sink}", hooks.handle)
    return hooks, await serve_app(app)


def alert(alert_id: str, rule: str, severity: str, *, update: bool = False) -> Alert:
    return Alert(
        alert_id=alert_id, rule=rule, severity=severity, kind="match", matched=[],
        story_id=f"story-{alert_id}", title=f"Headline {alert_id}", url=None,
        source="example.org", feed="wire", published=None,
        detected_at="2026-01-01T00:00:00+00:00", topics=[], regions=[], countries=[],
        sources_count=2 if update else 1, update=update, schema_version=1,
    )


def records(*alerts: Alert, first_offset: int = 0) -> list[StageRecord]:
    return [StageRecord(a.story_id, a, first_offset + n, None) for n, a in enumerate(alerts)]


def webhooks(base_url: str, *filters: dict) -> tuple[Sink, ...]:
    return tuple(load_sinks([{"url": f"{base_url}/{f['name']}", "max_attempts": 1, **f}
                             for f in filters], source="sinks.yaml"))


async def test_each_alert_goes_to_the_sinks_that_accept_it_and_updates_to_none(
    receivers: tuple[Receivers, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks, base_url = receivers
    sinks = webhooks(base_url, {"name": "everything"},
                     {"name": "karabakh", "rules": ["karabakh-security"]},
                     {"name": "urgent", "min_severity": "high"},
                     {"name": "karabakh-urgent", "rules": ["karabakh-security"],
                      "min_severity": "critical"})
    monkeypatch.setattr(delivery, "configured_sinks", lambda: sinks)
    stream = [
        alert("u1", "karabakh-security", "critical", update=True),  # an update: no sink
        alert("a1", "cop29", "info"),
        alert("a2", "karabakh-security", "medium"),
        alert("a3", "cop29", "critical"),
        alert("last", "karabakh-security", "critical"),  # every sink takes this one
    ]
    assert await delivery.deliver_batch(PARTITION, records(*stream)) == []  # nothing to produce
    for sink in sinks:
        await hooks.wait_for(sink.name, "last")
    await asyncio.gather(*delivery._pending)
    # Deliveries run concurrently: each sink's list is compared in sorted order.
    assert {sink: sorted(ids) for sink, ids in hooks.received.items()} == {
        "everything": ["a1", "a2", "a3", "last"],
        "karabakh": ["a2", "last"],
        "urgent": ["a3", "last"],
        "karabakh-urgent": ["last"],
    }


async def test_a_sink_that_does_not_answer_holds_back_neither_the_stream_nor_other_sinks(
    receivers: tuple[Receivers, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks, base_url = receivers
    hooks.held = {"stuck"}
    sinks = webhooks(base_url, {"name": "stuck", "timeout": 60}, {"name": "working"})
    monkeypatch.setattr(delivery, "configured_sinks", lambda: sinks)
    ids = [f"a{n}" for n in range(1, 2 * delivery.PER_SINK + 1)]  # more than "stuck" takes
    for n, alert_id in enumerate(ids):  # a stage held up by the stuck sink would not return
        batch = records(alert(alert_id, "cop29", "high"), first_offset=n)
        await asyncio.wait_for(delivery.deliver_batch(PARTITION, batch), timeout=30)
    await hooks.wait_for("working", ids[-1])
    assert sorted(hooks.received["working"]) == sorted(ids)
    assert hooks.received["stuck"] == []
    hooks.release.set()
    await hooks.wait_for("stuck", ids[-1])
    await asyncio.gather(*delivery._pending)
    assert sorted(hooks.received["stuck"]) == sorted(ids)
