"""Webhook delivery against a real local HTTP server; templates, filters and the CLI line."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from agents.alerts.records import alert_passes
from agents.alerts.sink_kinds import Sink
from agents.alerts.sinks import accepts, deliver, render_body
from streams.display import format_alert

ALERT = {
    "alert_id": "0b7e6c1e-0000-4000-8000-000000000001",
    "rule": "peacekeepers",
    "severity": "high",
    "kind": "match",
    "matched": [
        {"term": "peacekeep*", "field": "title", "start": 8, "end": 20, "text": "peacekeepers"},
        {"term": "peacekeep*", "field": "summary", "start": 0, "end": 12, "text": "peacekeepers"},
    ],
    "story_id": "s1",
    "title": "Russian peacekeepers leave Karabakh",
    "url": "https://news.example/a",
    "source": "Example News",
    "feed": "example",
    "published": "2024-11-11T09:00:00+00:00",
    "detected_at": "2024-11-11T09:01:02.123+00:00",
    "topics": ["conflict/war/peace"],
    "regions": ["South Caucasus"],
    "countries": ["AZ", "AM"],
    "sources_count": 1,
    "update": False,
    "schema_version": 1,
}


class Receiver:
    """A webhook endpoint answering with a scripted list of statuses (then 200)."""

    def __init__(self, statuses: list[int], delay: float = 0.0, headers: dict | None = None):
        self.statuses = statuses
        self.delay = delay
        self.headers = headers or {}
        self.requests: list[tuple[dict, dict]] = []
        self.delivered: list[dict] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((body, dict(request.headers)))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.delivered.append(body)
        return web.Response(status=status, text=f"status {status}", headers=self.headers)


@pytest.fixture
async def serve() -> AsyncIterator:
    runners = []

    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/hook"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def sink(url: str, **fields) -> Sink:
    return Sink.model_validate({"name": "hook", "url": url, "backoff": 0.01, **fields})


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_fails_twice_then_succeeds_is_delivered_once(serve, session):
    receiver = Receiver([500, 502])
    sleeps = Sleeps()
    result = await deliver(session, sink(await serve(receiver)), ALERT, sleep=sleeps)
    assert result.delivered
    assert result.attempts == 3
    assert result.status == 200
    assert result.error is None
    assert len(receiver.requests) == 3
    assert receiver.delivered == [ALERT]
    assert sleeps == [0.01, 0.02]  # exponential back-off
    assert {h["X-Wirewatch-Alert-Id"] for _, h in receiver.requests} == {ALERT["alert_id"]}


async def test_always_failing_sink_reports_the_error(serve, session):
    receiver = Receiver([503] * 10)
    result = await deliver(session, sink(await serve(receiver), max_attempts=3), ALERT)
    assert not result.delivered
    assert result.attempts == 3
    assert result.status == 503
    assert result.error == "HTTP 503: status 503"
    assert len(receiver.requests) == 3
    assert receiver.delivered == []


async def test_slow_sink_times_out(serve, session):
    receiver = Receiver([], delay=0.3)
    target = sink(await serve(receiver), timeout=0.1, max_attempts=2)
    result = await deliver(session, target, ALERT)
    assert not result.delivered
    assert result.attempts == 2
    assert result.status is None
    assert result.error == "timed out after 0.1s"


async def test_client_errors_are_not_retried(serve, session):
    receiver = Receiver([404])
    result = await deliver(session, sink(await serve(receiver)), ALERT)
    assert not result.delivered
    assert result.attempts == 1
    assert result.error == "HTTP 404: status 404"


async def test_retry_after_is_honoured_and_capped(serve, session):
    receiver = Receiver([429, 429], headers={"Retry-After": "7"})
    sleeps = Sleeps()
    target = sink(await serve(receiver), max_backoff=5)
    result = await deliver(session, target, ALERT, sleep=sleeps)
    assert result.delivered
    assert sleeps == [5, 5]


async def test_unreachable_sink_fails_without_raising(session):
    # find a closed port: bind one, note it, release it
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await deliver(session, sink(f"http://127.0.0.1:{port}/x", max_attempts=2), ALERT)
    assert not result.delivered
    assert result.attempts == 2
    assert result.error is not None and "ClientConnectorError" in result.error


async def test_slack_and_telegram_templates(serve, session):
    receiver = Receiver([])
    url = await serve(receiver)
    slack = sink(url, template="[$severity] $title <$url> ($matched) $$5 ${rule}")
    telegram = sink(url, template={"chat_id": "-100", "text": "$title", "silent": False})
    assert (await deliver(session, slack, ALERT)).delivered
    assert (await deliver(session, telegram, ALERT)).delivered
    assert receiver.delivered == [
        {
            "text": "[high] Russian peacekeepers leave Karabakh <https://news.example/a>"
            " (peacekeepers) $5 peacekeepers"
        },
        {"chat_id": "-100", "text": "Russian peacekeepers leave Karabakh", "silent": False},
    ]


def test_render_body_joins_lists_and_blanks_nulls():
    body = render_body(sink("http://x", template="$countries|$published|$update"), ALERT)
    assert body == {"text": "AZ, AM|2024-11-11T09:00:00+00:00|false"}
    surge = {**ALERT, "url": None}
    assert render_body(sink("http://x", template="<$url>"), surge) == {"text": "<>"}


def test_template_values_cannot_inject_json():
    hostile = {**ALERT, "title": 'x", "chat_id": "evil'}
    body = render_body(sink("http://x", template={"chat_id": "1", "text": "$title"}), hostile)
    assert body == {"chat_id": "1", "text": 'x", "chat_id": "evil'}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"rules": ["peacekeepers"]}, True),
        ({"rules": ["cop29"]}, False),
        ({"min_severity": "high"}, True),
        ({"min_severity": "critical"}, False),
    ],
)
def test_sink_filters(fields, expected):
    assert accepts(sink("http://x", **fields), ALERT) is expected


def test_alert_passes_severity_order():
    low = {**ALERT, "severity": "low"}
    assert alert_passes(low, min_severity="info")
    assert alert_passes(low, min_severity="low")
    assert not alert_passes(low, min_severity="medium")
    assert alert_passes(low, rules=["peacekeepers", "cop29"])



def test_format_alert_line():
    line = format_alert(ALERT)
    assert line == (
        "2024-11-11 09:01:02  HIGH     peacekeepers  Russian peacekeepers leave Karabakh"
        "  (Example News) [peacekeepers] https://news.example/a"
    )
    update = format_alert({**ALERT, "update": True, "sources_count": 3, "title": "a\nb"})
    assert "  UPDATE a b  (Example News, 3 sources)" in update


def test_format_surge_line():
    alert = {
        **ALERT,
        "kind": "surge",
        "severity": "medium",
        "surge": {
            "window_count": 14,
            "window_start": "2024-11-11T09:00:00+00:00",
            "window_end": "2024-11-11T09:10:00+00:00",
            "baseline_counts": [1, 2, 1, 0, 2, 1],
            "threshold": 5.2,
        },
    }
    assert format_alert(alert) == (
        "2024-11-11 09:01:02  MEDIUM   peacekeepers  SURGE 14 mentions 09:00-09:10"
        " (baseline [1, 2, 1, 0, 2, 1], threshold 5.2)"
    )


async def test_tokens_in_webhook_urls_are_redacted_from_errors(serve, session):
    """A redirect loop makes aiohttp name the URL, token and all, in its error."""
    receiver = Receiver([307] * 30)
    url = await serve(receiver) + "?token=SECRET"
    receiver.headers = {"Location": url}
    result = await deliver(session, sink(url, max_attempts=1), ALERT)
    assert not result.delivered and result.error is not None
    assert "TooManyRedirects" in result.error and "token=***" in result.error
    assert "SECRET" not in result.error
