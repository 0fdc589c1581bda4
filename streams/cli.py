"""The ``wirewatch`` command: Faust's CLI (``worker`` and friends) plus Wirewatch's own.

Commands of the agents (``classify``, ``rules``, ``alerts``) register themselves
with ``@app.command`` and are found by autodiscovery.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from faust.cli import argument, option

from streams.app import app, settings
from streams.commands import PlainCommand
from streams.config import config_problems, live_status, load_config
from streams.display import dumps, format_headline
from streams.quickstart import run  # noqa: F401 -- registers `wirewatch run`
from streams.subscribe import subscribe
from streams.topics import HEADLINES


@app.command(argument("path", required=False), base=PlainCommand)
async def check_config(self: PlainCommand, path: str | None) -> int:
    """Validate a config file (default: $WIREWATCH_CONFIG) and print every error."""
    target = path or str(settings.config_path)
    problems = config_problems(target)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{target}: {len(problems)} error(s)", file=sys.stderr)
        return 1
    config = load_config(target)
    print(f"{target}: OK ({len(config.feeds)} feeds, {len(config.rules)} rules, "
          f"{len(config.sinks)} sinks)")
    # Notes on the running system (e.g. config rules vs live rules) go to stderr: stdout
    # keeps the one OK line that scripts read; the exit code is the config's validity.
    for line in await live_status(config, target):
        print(line, file=sys.stderr)
    return 0


@app.command(
    option("--from-beginning", is_flag=True, default=False, help="Replay retained headlines."),
    option("--json", "as_json", is_flag=True, default=False, help="One JSON object a line."),
    base=PlainCommand,
)
async def headlines(self: PlainCommand, from_beginning: bool, as_json: bool) -> int:
    """Print headlines from wirewatch.headlines as they arrive."""
    async for _, value in subscribe([HEADLINES], from_beginning=from_beginning):
        print(dumps(value) if as_json else format_headline(value), flush=True)
    return 0


FAUST_LEVELS = {"warning": "warn", "critical": "crit"}  # Faust's names for these levels


def _with_default_loglevel(argv: list[str]) -> list[str]:
    """``wirewatch worker`` logs at $WIREWATCH_LOG_LEVEL (default info), not Faust's warn."""
    if argv[:1] == ["worker"] and not any(a in ("-l", "--loglevel") or
                                         a.startswith("--loglevel=") for a in argv):
        level = os.environ.get("WIREWATCH_LOG_LEVEL", "info").lower()
        return [*argv, "--loglevel", FAUST_LEVELS.get(level, level)]
    return argv


def main() -> NoReturn:
    argv = sys.argv[1:]
    if argv[:1] == ["worker"]:
        app.discover()  # the agents register the checks of their config sections
        problems = config_problems(str(settings.config_path))
        if problems:
            print("\n".join(problems), file=sys.stderr)
            raise SystemExit(1)
    sys.argv = [sys.argv[0], *_with_default_loglevel(argv)]
    app.main()
