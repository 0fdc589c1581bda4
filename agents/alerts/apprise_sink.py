"""Apprise sinks: one alert, as a title and a body, to every URL of the sink.

Apprise formats for each service (email, Telegram, Teams, Discord, Matrix, PagerDuty,
...), so nothing here knows a service. A notifier remembers which URLs took the alert,
so a retry goes only to those that failed; ``send`` never raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import apprise

from streams.redact import scheme_only

NOTIFY_TYPES = {"info": "info", "low": "info", "medium": "warning", "high": "failure",
                "critical": "failure"}  # Apprise's colours and icons per severity


def default_title(alert: Mapping[str, Any]) -> str:
    return (f"[{str(alert.get('severity', '')).upper()}] {alert.get('rule', '')}: "
            f"{alert.get('title') or ''}")


def default_body(alert: Mapping[str, Any]) -> str:
    lines = [str(alert.get("title") or ""), str(alert.get("url") or "")]
    facts = [f"{key}: {', '.join(map(str, alert[key]))}" for key in ("regions", "topics")
             if alert.get(key)]
    where = alert.get("source") or alert.get("feed")
    lines.append(" | ".join([f"source: {where}"] * bool(where) + facts))
    return "\n".join(line for line in lines if line)


class AppriseNotifier:
    """Sends one title/body to ``urls``; each ``send`` retries only the URLs still failing."""

    def __init__(self, urls: Sequence[str], title: str, body: str, severity: str) -> None:
        self.pending = list(urls)
        self.title, self.body = title, body
        self.notify_type = NOTIFY_TYPES.get(severity, "info")

    async def send(self, timeout: float) -> str | None:
        """Notify the pending URLs; the error ("" -> none left) of those that failed."""
        failed: list[str] = []
        errors: list[str] = []
        for url in self.pending:
            error = await self._one(url, timeout)
            if error is not None:
                failed.append(url)
                errors.append(f"{scheme_only(url)} {error}")
        self.pending = failed
        return "; ".join(errors) or None

    async def _one(self, url: str, timeout: float) -> str | None:
        notifier = apprise.Apprise()
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
            if not notifier.add(url):
                return "is not a URL Apprise can use"
            try:
                result = await asyncio.wait_for(notifier.async_notify(
                    body=self.body, title=self.title, notify_type=self.notify_type,
                    body_format=apprise.NotifyFormat.TEXT), timeout)
            except TimeoutError:
                return f"timed out after {timeout:g}s"
        if result:
            return None
        said_lines = [line for line in said.getvalue().splitlines() if line.strip()]
        return said_lines[-1] if said_lines else f"failed ({result.status.name.lower()})"
