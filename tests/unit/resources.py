"""Async resources a test opens (fetchers, pollers: HTTP sessions), closed when it ends.

A test module imports ``close_opened_resources`` (an autouse fixture) and wraps what it
opens in ``close_after_test``.
"""

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
_opened: list[Any] = []


def close_after_test(resource: T) -> T:
    """``resource`` (anything with an async ``close``), to be closed after the test."""
    _opened.append(resource)
    return resource


@pytest.fixture(autouse=True)
async def close_opened_resources() -> AsyncIterator[None]:
    yield
    while _opened:
        await _opened.pop().close()
