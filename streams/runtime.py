"""The running process's config, loaded once on first use (not at import time,
so commands that need no config, like ``wirewatch headlines``, never read it)."""

from __future__ import annotations

from functools import cache

from streams.app import settings
from streams.config import WirewatchConfig, load_config


@cache
def current_config() -> WirewatchConfig:
    return load_config(settings.config_path)
