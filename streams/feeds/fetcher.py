"""Retrieving feeds politely: conditional GET, timeouts, size cap, per-host limits.

The fetcher only moves bytes; ``parser``/``htmllist`` turn them into entries.
Errors come out as ``FetchError`` with a ``reason`` from a small fixed set, so
they can label metrics and decide back-off; their text has URLs redacted.
One keep-alive session serves all fetches of a worker, so polling many feeds on
one host reuses connections (at most ``per_host_concurrency`` of them per host).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import aiohttp.abc

from streams.config import PollingConfig
from streams.feeds.netguard import AddressBlocked, GuardedConnector
from streams.redact import redact_text

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


FETCH_ERROR_REASONS = (
    "timeout", "connection", "http_4xx", "http_429", "http_5xx", "too_large", "blocked",
)  # fmt: skip
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A failed fetch. ``reason`` is one of FETCH_ERROR_REASONS (``blocked``: a non-public
    address, see ``netguard``). ``retry_after`` is the server's Retry-After in seconds,
    uncapped (possibly ``inf``): the caller caps it."""

    def __init__(
        self, reason: str, detail: str, *, status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); a huge
    delta can be ``inf``."""
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

    The session (and its connection pool) opens on the first fetch, in the running event
    loop, and lasts until ``close``.
    """

    def __init__(
        self, polling: PollingConfig, *, resolver: aiohttp.abc.AbstractResolver | None = None
    ) -> None:
        self._polling = polling
        self._resolver = resolver  # None: aiohttp's default (the system's resolver)
        self._host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(polling.per_host_concurrency)
        )
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            polling = self._polling
            pool = {"limit": 0, "limit_per_host": polling.per_host_concurrency,
                    "resolver": self._resolver}
            connector = (
                GuardedConnector(allow=polling.allow_networks, **pool)
                if polling.block_private_addresses else aiohttp.TCPConnector(**pool)
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": polling.user_agent, "Accept": ACCEPT},
                timeout=aiohttp.ClientTimeout(total=polling.timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
            except AddressBlocked as exc:
                raise FetchError("blocked", str(exc)) from exc
            except aiohttp.ClientError as exc:
                raise FetchError("connection",
                                 redact_text(f"{type(exc).__name__}: {exc}")) from exc

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        session = self._open_session()
        async with session.get(url, headers=headers, max_redirects=MAX_REDIRECTS) as resp:
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
