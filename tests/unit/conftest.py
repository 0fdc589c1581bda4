"""Unit-test fixtures shared across modules, and the agents' config checks.

The agents register the checks of their config sections (``rules:``, ``sinks:``) with
``streams.config`` when Faust's autodiscovery imports them, as every ``wirewatch`` command
and the worker do before checking a config. The unit tests discover them once, up front, so
``config_problems`` checks every section in every test, whichever test module ran first.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streams.app import app

T = TypeVar("T")

app.discover()


@pytest.fixture
async def close_after_test() -> AsyncIterator[Callable[[T], T]]:
    """A function that hands back the async resource it is given (a fetcher, a poller:
    anything with an async ``close``) and closes it when the test ends."""
    opened: list[Any] = []

    def closing(resource: T) -> T:
        opened.append(resource)
        return resource

    yield closing
    while opened:
        await opened.pop().close()


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """A function that serves an aiohttp app on 127.0.0.1 until the test ends and returns
    its base URL (no trailing slash)."""
    servers: list[TestServer] = []

    async def serve(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield serve
    for server in servers:
        await server.close()
