"""The quickstart's news: the seed page's "Latest news" headlines, released over time.

The oldest few are on the site from the start; then one more appears every
``step`` seconds, stamped with the current time, until the list runs out.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from streams.demo.site import NewsSite, Story

INITIAL = 6


def _bundled(name: str) -> str:
    return resources.files("streams.demo").joinpath(name).read_text(encoding="utf-8")


def seed_stories() -> list[tuple[str, str | None]]:
    """(title, sub-line) pairs, oldest first, from ``seed_headlines.json``."""
    raw = json.loads(_bundled("seed_headlines.json"))
    return [(item["title"], item.get("subline")) for item in reversed(raw)]


def slugify(title: str, index: int) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())[:8]
    return "-".join(words) + f"-{index}"


async def release(site: NewsSite, step: float) -> None:
    """Publish the seed headlines onto ``site``: a few now, then one per ``step`` seconds."""
    for index, (title, subline) in enumerate(seed_stories()):
        if index >= INITIAL:
            await asyncio.sleep(step)
        site.publish(Story(slugify(title, index), title, subline, datetime.now(UTC)))


def write_demo_config(base_url: str, path: Path) -> Path:
    """The bundled demo config with its feeds pointed at the local site."""
    config = _bundled("wirewatch.yaml").replace("${DEMO_BASE_URL}", base_url)
    path.write_text(config, encoding="utf-8")
    return path
