"""Retrieving feeds politely: conditional GET, timeouts, size cap, per-host limits.

The fetcher only moves bytes; ``parser``/``htmllist`` turn them into entries.
Errors come out as ``FetchError`` with a ``reason`` from a small fixed set, so
they can label metrics and decide back-off.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from streams.config import PollingConfig

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/feed+json, application/json;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A 200 (with body) or 304 (empty body) answer."""

    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    url: str

    @property
    def not_modified(self) -> bool:
        return self.status == 304


FETCH_ERROR_REASONS = ("timeout", "connection", "http_4xx", "http_429", "http_5xx", "too_large")


class FetchError(Exception):
    """A failed fetch. ``reason`` is one of: timeout, connection, http_429, http_4xx,
    http_5xx, too_large. ``retry_after`` is the server's Retry-After in seconds."""

    def __init__(
        self, reason: str, detail: str, *, status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _status_reason(status: int) -> str:
    """Metric label of a non-200 answer (unexpected 1xx-3xx count as http_4xx)."""
    if status == 429:
        return "http_429"
    return "http_5xx" if status >= 500 else "http_4xx"


class Fetcher:
    """HTTP fetching for one worker: at most ``per_host_concurrency`` requests a host.

    Each fetch uses its own short-lived session: feeds are polled every minute or
    so, where keep-alive buys little, and nothing is left open at shutdown.
    """

    def __init__(self, polling: PollingConfig) -> None:
        self._polling = polling
        self._host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(polling.per_host_concurrency)
        )

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = urlsplit(url).hostname or ""
        async with self._host_slots[host]:
            try:
                return await self._get(url, headers)
            except TimeoutError as exc:
                raise FetchError("timeout", f"no answer within {self._polling.timeout}s") from exc
            except aiohttp.ClientError as exc:
                raise FetchError("connection", f"{type(exc).__name__}: {exc}") from exc

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        session = aiohttp.ClientSession(
            headers={"User-Agent": self._polling.user_agent, "Accept": ACCEPT},
            timeout=aiohttp.ClientTimeout(total=self._polling.timeout),
        )
        async with session, session.get(url, headers=headers) as resp:
            if resp.status == 304:
                return FetchResult(304, b"", resp.headers.get("ETag"),
                                   resp.headers.get("Last-Modified"), None, str(resp.url))
            if resp.status != 200:
                raise FetchError(
                    _status_reason(resp.status),
                    f"HTTP {resp.status} {resp.reason or ''}".strip(),
                    status=resp.status,
                    retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                )
            body = await self._read_capped(resp)
            return FetchResult(
                200, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified"),
                resp.headers.get("Content-Type"), str(resp.url),
            )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self._polling.max_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise FetchError("too_large", f"Content-Length {resp.content_length} > {cap} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise FetchError("too_large", f"body exceeds {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
