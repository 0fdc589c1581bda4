"""Delivery of alerts to the ``sinks:`` of the config: webhooks, Apprise, Alertmanager.

``deliver`` sends one alert with the sink's timeout: a webhook gets a JSON POST, an
Alertmanager a POST of the alert to its API (``alertmanager_sink``), Apprise URLs a
notification (``apprise_sink``; a failed one is retried). Retries are the same for every
kind: on a timeout, a connection error, or HTTP 408/425/429/5xx it retries up to
``max_attempts`` in all, waiting ``backoff * 2**(attempt - 1)`` seconds (or the server's
``Retry-After``, seconds or HTTP date), capped at ``max_backoff``. Other 4xx answers fail
at once (retrying will not help).
It never raises for a delivery problem: the ``DeliveryResult`` says delivered or failed,
with the error, so the caller can put failures on ``wirewatch.alerts.dead``. Each request
carries ``X-Wirewatch-Alert-Id`` so receivers can drop repeats.

Bodies: without a template the alert itself; with one, placeholders are filled by
``string.Template.safe_substitute`` - plain substitution, no expressions or attribute access,
so a config cannot run code - into a Slack-style ``{"text": ...}`` (string template) or
into every string of a JSON object template (e.g. Telegram ``{"chat_id": ..., "text":
...}``). Lists become comma-separated text; ``$matched`` gives the distinct matched words.
For Apprise a string template is the body and an object gives ``title`` and ``body``; for
Alertmanager a string is the ``summary`` annotation and an object gives annotations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from string import Template
from typing import Any

import aiohttp

from agents.alerts.alertmanager_sink import alertmanager_alert, alerts_url
from agents.alerts.apprise_sink import AppriseNotifier, default_body, default_title
from agents.alerts.records import alert_passes
from agents.alerts.sink_kinds import Sink
from streams.feeds.fetcher import parse_retry_after
from streams.records import ALERT_FIELDS
from streams.redact import redact_text, url_secrets

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of delivering one alert to one sink; ``error`` is set when not delivered."""

    sink: str
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None


def accepts(sink: Sink, alert: Mapping[str, Any]) -> bool:
    """Whether ``sink``'s rule and severity filters let ``alert`` through."""
    return alert_passes(alert, rules=sink.rules, min_severity=sink.min_severity)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        texts = [v.get("text", "") if isinstance(v, Mapping) else str(v) for v in value]
        return ", ".join(dict.fromkeys(texts))
    return str(value)


def _fill(template: object, values: Mapping[str, str]) -> object:
    if isinstance(template, str):
        return Template(template).safe_substitute(values)
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


def _values(alert: Mapping[str, Any]) -> dict[str, str]:
    return {field: _as_text(alert.get(field)) for field in ALERT_FIELDS}


def render_body(sink: Sink, alert: Mapping[str, Any]) -> object:
    """The JSON body a webhook ``sink`` should receive for ``alert``."""
    if sink.template is None:
        return dict(alert)
    body = _fill(sink.template, _values(alert))
    return {"text": body} if isinstance(sink.template, str) else body


def _alertmanager_body(sink: Sink, alert: Mapping[str, Any],
                       cooldown: timedelta | None) -> list[dict[str, Any]]:
    filled = _fill(sink.template, _values(alert)) if sink.template is not None else {}
    annotations = {"summary": filled} if isinstance(filled, str) else filled
    return [alertmanager_alert(alert, cooldown=cooldown, annotations=annotations)]


def apprise_notifier(sink: Sink, alert: Mapping[str, Any]) -> AppriseNotifier:
    """Title and body from the template (a string is the body), else the defaults."""
    filled = _fill(sink.template, _values(alert)) if sink.template is not None else {}
    parts = {"body": filled} if isinstance(filled, str) else filled
    return AppriseNotifier(sink.apprise, parts.get("title") or default_title(alert),
                           parts.get("body") or default_body(alert),
                           str(alert.get("severity", "")))


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: int | None = None
    error: str | None = None  # None: delivered
    retry: bool = True
    wait: float | None = None  # the server's Retry-After


async def _post(session: aiohttp.ClientSession, sink: Sink, url: str, body: object,
                headers: Mapping[str, str]) -> _Attempt:
    secrets = url_secrets(url)  # servers and exceptions may echo them outside the URL
    try:
        async with session.post(url, json=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=sink.timeout)) as response:
            status = response.status
            if 200 <= status < 300:
                return _Attempt(status)
            # Masked before the cut, so that no secret is left half-shown.
            page = redact_text((await response.text())[:4096], secrets)[:200]
            return _Attempt(status, f"HTTP {status}: {page}",
                            status in RETRY_STATUSES,
                            parse_retry_after(response.headers.get("Retry-After")))
    except TimeoutError:
        return _Attempt(None, f"timed out after {sink.timeout:g}s")
    except (aiohttp.ClientError, OSError) as exc:
        return _Attempt(None, redact_text(f"{type(exc).__name__}: {exc}", secrets))


def _sender(session: aiohttp.ClientSession, sink: Sink, alert: Mapping[str, Any],
            cooldown: timedelta | None) -> Callable[[], Awaitable[_Attempt]]:
    """One attempt at delivering ``alert`` to ``sink``, as a function to call per try."""
    if sink.kind == "apprise":
        notifier = apprise_notifier(sink, alert)

        async def notify() -> _Attempt:
            error = await notifier.send(sink.timeout)
            return _Attempt(None, error)

        return notify
    headers = {**sink.headers, "X-Wirewatch-Alert-Id": str(alert.get("alert_id", ""))}
    if sink.kind == "alertmanager":
        url, body = alerts_url(str(sink.alertmanager)), _alertmanager_body(sink, alert, cooldown)
    else:
        url, body = str(sink.url), render_body(sink, alert)
    return lambda: _post(session, sink, url, body, headers)


async def deliver(
    session: aiohttp.ClientSession,
    sink: Sink,
    alert: Mapping[str, Any],
    *,
    cooldown: timedelta | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> DeliveryResult:
    """Send ``alert`` to ``sink`` with retries; never raises for delivery problems.

    ``cooldown`` is the alert's rule's (Alertmanager's ``endsAt``)."""
    send = _sender(session, sink, alert, cooldown)
    outcome = _Attempt()
    for attempt in range(1, sink.max_attempts + 1):
        outcome = await send()
        if outcome.error is None:
            return DeliveryResult(sink.name, True, attempt, outcome.status)
        if not outcome.retry:
            return DeliveryResult(sink.name, False, attempt, outcome.status, outcome.error)
        if attempt < sink.max_attempts:
            backoff = sink.backoff * 2 ** (attempt - 1)
            await sleep(min(sink.max_backoff, backoff if outcome.wait is None else outcome.wait))
    return DeliveryResult(sink.name, False, sink.max_attempts, outcome.status, outcome.error)
