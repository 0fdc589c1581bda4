"""A small local news site serving RSS and an HTML "Latest news" list.

``wirewatch run --demo`` fills it from the seed page's headlines over time; the
integration tests drive it directly. It answers conditional GETs (ETag and
Last-Modified) with 304 like a well-behaved publisher, and counts requests.
"""

from __future__ import annotations

import email.utils
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from aiohttp import web

from streams.embedded_broker import free_port

BAKU = ZoneInfo("Asia/Baku")


@dataclass(frozen=True, slots=True)
class Story:
    slug: str
    title: str
    subline: str | None
    published: datetime


class NewsSite:
    """Stories (newest first) served as ``/rss`` and ``/latest`` on 127.0.0.1."""

    def __init__(self, name: str = "Demo News") -> None:
        self.name = name
        self.stories: list[Story] = []
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.changed_at = datetime.now(UTC)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, story: Story) -> None:
        self.stories.insert(0, story)
        self.changed_at = datetime.now(UTC)

    def render_rss(self) -> str:
        items = "".join(
            f"<item><title>{xml_escape(s.title)}</title>"
            f"<link>{self.base_url}/news/{s.slug}?utm_source=rss</link>"
            f'<guid isPermaLink="false">demo-{s.slug}</guid>'
            f"<description>{xml_escape(s.subline or '')}</description>"
            f"<pubDate>{email.utils.format_datetime(s.published)}</pubDate></item>"
            for s in self.stories
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{xml_escape(self.name)}</title><link>{self.base_url}/</link>"
            f"<description>Latest news</description>{items}</channel></rss>"
        )

    def render_latest(self) -> str:
        items = "".join(
            f'<li class="news-item"><a href="/news/{s.slug}">'
            f'<span class="title">{escape(s.title)}</span>'
            + (f'<span class="sub">{escape(s.subline)}</span>' if s.subline else "")
            + f"</a><time>{s.published.astimezone(BAKU):%d %B %Y - %H:%M}</time></li>"
            for s in self.stories
        )
        return (
            f"<html><head><title>{escape(self.name)}</title></head><body>"
            f'<main><article>Analysis</article></main><aside class="latest-news">'
            f"<h2>Latest news</h2><ul>{items}</ul></aside></body></html>"
        )

    def _conditional(self, request: web.Request, body: str, content_type: str) -> web.Response:
        self.requests[request.path_qs] += 1
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
        last_modified = email.utils.format_datetime(self.changed_at, usegmt=True)
        if self._unchanged(request, etag):
            self.not_modified[request.path_qs] += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type=content_type, charset="utf-8",
                            headers={"ETag": etag, "Last-Modified": last_modified})

    def _unchanged(self, request: web.Request, etag: str) -> bool:
        """RFC 9110: If-None-Match decides when present, else If-Modified-Since."""
        if "If-None-Match" in request.headers:
            return request.headers["If-None-Match"] == etag
        since = request.if_modified_since
        return since is not None and self.changed_at.replace(microsecond=0) <= since

    async def _rss(self, request: web.Request) -> web.Response:
        return self._conditional(request, self.render_rss(), "application/rss+xml")

    async def _latest(self, request: web.Request) -> web.Response:
        return self._conditional(request, self.render_latest(), "text/html")

    def routes(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rss", self._rss)
        app.router.add_get("/latest", self._latest)
        return app

    async def start(self, port: int | None = None) -> str:
        self.port = port or free_port()
        self._runner = web.AppRunner(self.routes(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
