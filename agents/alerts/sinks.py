"""Webhook delivery of alerts to the ``sinks:`` of the config.

``deliver`` POSTs one alert as JSON with the sink's timeout; on a timeout, a connection
error, or HTTP 408/425/429/5xx it retries up to ``max_attempts`` in all, waiting
``backoff * 2**(attempt - 1)`` seconds (or the server's ``Retry-After``, seconds or HTTP
date), capped at ``max_backoff``. Other 4xx answers fail at once (retrying will not help).
It never raises for a delivery problem: the ``DeliveryResult`` says delivered or failed,
with the error, so the caller can put failures on ``wirewatch.alerts.dead``. Each request
carries ``X-Wirewatch-Alert-Id`` so receivers can drop repeats.

Bodies: without a template the alert itself; with one, placeholders are filled by
``string.Template.safe_substitute`` - plain substitution, no expressions or attribute access,
so a config cannot run code - into a Slack-style ``{"text": ...}`` (string template) or
into every string of a JSON object template (e.g. Telegram ``{"chat_id": ..., "text":
...}``). Lists become comma-separated text; ``$matched`` gives the distinct matched words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

import aiohttp

from agents.alerts.records import ALERT_FIELDS, alert_passes
from agents.alerts.rules import Sink
from streams.feeds.fetcher import parse_retry_after
from streams.redact import redact_text

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


def render_body(sink: Sink, alert: Mapping[str, Any]) -> object:
    """The JSON body ``sink`` should receive for ``alert``."""
    if sink.template is None:
        return dict(alert)
    values = {field: _as_text(alert.get(field)) for field in ALERT_FIELDS}
    body = _fill(sink.template, values)
    return {"text": body} if isinstance(sink.template, str) else body


async def deliver(
    session: aiohttp.ClientSession,
    sink: Sink,
    alert: Mapping[str, Any],
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> DeliveryResult:
    """POST ``alert`` to ``sink`` with retries; never raises for delivery problems."""
    body = render_body(sink, alert)
    headers = {**sink.headers, "X-Wirewatch-Alert-Id": str(alert.get("alert_id", ""))}
    timeout = aiohttp.ClientTimeout(total=sink.timeout)
    status: int | None = None
    error = ""
    for attempt in range(1, sink.max_attempts + 1):
        wait: float | None = None
        try:
            async with session.post(
                str(sink.url), json=body, headers=headers, timeout=timeout
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    return DeliveryResult(sink.name, True, attempt, status)
                error = redact_text(f"HTTP {status}: {(await response.text())[:200]}")
                if status not in RETRY_STATUSES:
                    return DeliveryResult(sink.name, False, attempt, status, error)
                wait = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            status, error = None, f"timed out after {sink.timeout:g}s"
        except (aiohttp.ClientError, OSError) as exc:
            status, error = None, redact_text(f"{type(exc).__name__}: {exc}")
        if attempt < sink.max_attempts:
            backoff = sink.backoff * 2 ** (attempt - 1)
            await sleep(min(sink.max_backoff, backoff if wait is None else wait))
    return DeliveryResult(sink.name, False, sink.max_attempts, status, error)
