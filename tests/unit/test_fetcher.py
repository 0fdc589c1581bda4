"""Fetcher against local aiohttp servers: conditional GET, errors, caps, per-host limits."""

import asyncio
import email.utils
import gzip
import ipaddress
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from streams.config import PollingConfig
from streams.embedded_broker import free_port
from streams.feeds.fetcher import Fetcher, FetchError, parse_retry_after
from streams.feeds.netguard import is_blocked

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[str]]
FetcherFactory = Callable[..., Fetcher]

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 May 2024 12:00:00 GMT"


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start ``handler`` for every path on 127.0.0.1; yields a function returning the base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler, host: str = "127.0.0.1") -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, host, port).start()
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def fetcher(close_after_test: Callable[[Fetcher], Fetcher]) -> FetcherFactory:
    """Fetchers made with ``PollingConfig(**polling)``, closed when the test ends."""

    def make(resolver: AbstractResolver | None = None, **polling: object) -> Fetcher:
        return close_after_test(Fetcher(PollingConfig(**polling), resolver=resolver))

    return make


async def conditional(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == ETAG:
        return web.Response(status=304, headers={"ETag": ETAG})
    return web.Response(body=BODY, content_type="application/rss+xml",
                        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})


async def test_200_then_conditional_304(serve: Serve, fetcher: FetcherFactory) -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return await conditional(request)

    base = await serve(handler)
    f = fetcher(user_agent="TestAgent/9")
    first = await f.fetch(f"{base}/rss")
    assert (first.status, first.not_modified, first.body) == (200, False, BODY)
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    assert first.content_type == "application/rss+xml"
    assert first.url == f"{base}/rss"

    second = await f.fetch(f"{base}/rss", etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.not_modified, second.body) == (304, True, b"")
    assert second.etag == ETAG

    assert "If-None-Match" not in seen[0] and "If-Modified-Since" not in seen[0]
    assert seen[1]["If-None-Match"] == ETAG
    assert seen[1]["If-Modified-Since"] == LAST_MODIFIED
    assert all(h["User-Agent"] == "TestAgent/9" for h in seen)
    assert "application/rss+xml" in seen[0]["Accept"]


async def test_redirect_is_followed_and_final_url_reported(
    serve: Serve, fetcher: FetcherFactory,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/old":
            raise web.HTTPMovedPermanently("/new")
        return web.Response(body=request.path.encode())

    base = await serve(handler)
    result = await fetcher().fetch(f"{base}/old")
    assert (result.body, result.url) == (b"/new", f"{base}/new")


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "http_4xx"), (410, "http_4xx"), (500, "http_5xx"), (503, "http_5xx"),
     (429, "http_429"), (204, "http_4xx")],
)
async def test_http_errors_have_a_reason(
    serve: Serve, status: int, reason: str, fetcher: FetcherFactory,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text="" if status == 204 else "nope")

    base = await serve(handler)
    with pytest.raises(FetchError) as caught:
        await fetcher().fetch(f"{base}/x")
    assert (caught.value.reason, caught.value.status) == (reason, status)
    assert caught.value.retry_after is None
    assert str(status) in str(caught.value)


async def test_429_retry_after_seconds(serve: Serve, fetcher: FetcherFactory) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "120"})

    base = await serve(handler)
    with pytest.raises(FetchError) as caught:
        await fetcher().fetch(f"{base}/x")
    assert (caught.value.reason, caught.value.retry_after) == ("http_429", 120.0)


async def test_503_retry_after_http_date(serve: Serve, fetcher: FetcherFactory) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503,
                            headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)})

    base = await serve(handler)
    with pytest.raises(FetchError) as caught:
        await fetcher().fetch(f"{base}/x")
    assert caught.value.reason == "http_5xx"
    assert caught.value.retry_after is not None
    assert 85 <= caught.value.retry_after <= 90  # the date has whole seconds


def test_parse_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("  45 ", now) == 45.0
    assert parse_retry_after("Wed, 01 May 2024 12:02:30 GMT", now) == 150.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0  # past: no wait
    for junk in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(junk, now) is None


async def test_too_large_with_content_length(serve: Serve, fetcher: FetcherFactory) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    base = await serve(handler)
    with pytest.raises(FetchError) as caught:
        await fetcher(max_bytes=4096).fetch(f"{base}/x")
    assert caught.value.reason == "too_large"
    assert "5000" in str(caught.value)
    exact = await fetcher(max_bytes=5000).fetch(f"{base}/x")
    assert len(exact.body) == 5000


async def test_too_large_chunked_without_content_length(
    serve: Serve, fetcher: FetcherFactory,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    base = await serve(handler)
    with pytest.raises(FetchError) as caught:
        await fetcher(max_bytes=4096).fetch(f"{base}/x")
    assert caught.value.reason == "too_large"
    whole = await fetcher(max_bytes=10_000).fetch(f"{base}/x")
    assert whole.body == b"y" * 10_000


async def test_slow_answer_times_out(serve: Serve, fetcher: FetcherFactory) -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()  # far longer than the timeout; let go at the end
        return web.Response(text="late")

    base = await serve(handler)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetcher(timeout=0.2).fetch(f"{base}/slow")
    release.set()
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


async def test_connection_refused(fetcher: FetcherFactory) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(FetchError) as caught:
        await fetcher(timeout=2).fetch(f"http://127.0.0.1:{port}/rss")
    assert caught.value.reason == "connection"
    assert caught.value.status is None


class PeakCounter:
    """A slow handler that records how many requests it served at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    async def handler(self, request: web.Request) -> web.Response:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.1)
        self.active -= 1
        return web.Response(text="ok")


async def test_per_host_concurrency_is_capped(serve: Serve, fetcher: FetcherFactory) -> None:
    counter = PeakCounter()
    base = await serve(counter.handler)
    f = fetcher(per_host_concurrency=2)
    results = await asyncio.gather(*(f.fetch(f"{base}/{i}") for i in range(6)))
    assert [r.body for r in results] == [b"ok"] * 6
    assert counter.peak == 2


async def test_other_hosts_are_not_held_back(serve: Serve, fetcher: FetcherFactory) -> None:
    """The cap is per host: 127.0.0.1 and localhost get a slot each."""
    counter = PeakCounter()
    base = await serve(counter.handler)
    f = fetcher(per_host_concurrency=1)
    other = base.replace("127.0.0.1", "localhost")
    await asyncio.gather(f.fetch(f"{base}/a"), f.fetch(f"{other}/b"))
    assert counter.peak == 2


async def test_gzip_body_is_decoded(serve: Serve, fetcher: FetcherFactory) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(BODY), content_type="application/rss+xml",
                            headers={"Content-Encoding": "gzip"})

    base = await serve(handler)
    result = await fetcher().fetch(f"{base}/rss")
    assert result.body == BODY


async def test_connections_are_kept_alive_and_reused(serve: Serve, fetcher: FetcherFactory) -> None:
    client_ports: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        client_ports.append(request.transport.get_extra_info("peername")[1])
        return web.Response(body=BODY, content_type="application/rss+xml")

    base = await serve(handler)
    f = fetcher()
    for i in range(5):
        await f.fetch(f"{base}/feed-{i}")
    assert len(client_ports) == 5 and len(set(client_ports)) == 1


class NamesResolver(AbstractResolver):
    """Resolves a few made-up names, like an /etc/hosts entry would."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        return [{"hostname": host, "host": self.names[host], "port": port, "family": 2,
                 "proto": 6, "flags": 0}]

    async def close(self) -> None:
        pass


def test_which_addresses_are_blocked() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
                    "224.0.0.1"):
        assert is_blocked(address), address
    for address in ("93.184.215.14", "2606:4700::1111", "8.8.8.8"):
        assert not is_blocked(address), address
    assert not is_blocked("10.1.2.3", [ipaddress.ip_network("10.0.0.0/8")])


async def test_blocking_refuses_a_redirect_to_loopback(
    serve: Serve, fetcher: FetcherFactory,
) -> None:
    inner_hits: list[str] = []

    async def inner(request: web.Request) -> web.Response:
        inner_hits.append(request.path)
        return web.Response(body=BODY)

    inner_base = await serve(inner)  # 127.0.0.1

    async def outer(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{inner_base}/admin")

    outer_base = await serve(outer, host="127.0.0.2")  # allowed below, as an exception
    polling = {"block_private_addresses": True, "allow_networks": ["127.0.0.2/32"]}
    with pytest.raises(FetchError) as caught:
        await fetcher(**polling).fetch(f"{outer_base}/feed")
    assert caught.value.reason == "blocked"
    assert "127.0.0.1" in str(caught.value) and inner_hits == []
    assert (await fetcher().fetch(f"{outer_base}/feed")).body == BODY  # the option is off


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("http://intranet.test:{port}/feed", {"intranet.test": "10.1.2.3"}),
        ("http://localhost:{port}/feed", None),
        ("http://169.254.169.254/latest/meta-data/", None),
        ("http://[::ffff:127.0.0.1]:{port}/feed", None),
    ],
)
async def test_blocking_refuses_names_and_literals_of_non_public_addresses(
    serve: Serve, url: str, names: dict[str, str] | None, fetcher: FetcherFactory,
) -> None:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=BODY)

    port = int((await serve(handler)).rsplit(":", 1)[1])
    resolver = NamesResolver(names) if names else None
    with pytest.raises(FetchError) as caught:
        await fetcher(resolver, block_private_addresses=True).fetch(url.format(port=port))
    assert caught.value.reason == "blocked" and hits == []


async def test_a_made_up_name_resolves_through_the_given_resolver(
    serve: Serve, fetcher: FetcherFactory,
) -> None:
    """The control for the test above: without blocking, the same name reaches the server."""
    port = int((await serve(conditional)).rsplit(":", 1)[1])
    f = fetcher(NamesResolver({"feeds.test": "127.0.0.1"}))
    assert (await f.fetch(f"http://feeds.test:{port}/rss")).body == BODY
