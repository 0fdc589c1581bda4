"""``wirewatch feeds import|export|discover|probe``: moving feeds in from other tools.

Reports go to stderr and anything meant for a file or the config (YAML, OPML) to stdout,
so ``wirewatch feeds export > feeds.opml`` and ``... import x.opml >> my.yaml`` work.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path

import click
import yaml
from faust.cli import argument, option
from pydantic import ValidationError

from streams.app import app, settings
from streams.commands import PlainCommand
from streams.config import ConfigError, PollingConfig, load_config, parse_config
from streams.display import format_headline
from streams.feeds.fetcher import Fetcher, FetchError
from streams.feeds.htmllist import HtmlSelectors
from streams.feeds.urls import canonical_url
from streams.feedtools.configedit import add_feeds, feed_entries
from streams.feedtools.discover import discover
from streams.feedtools.opml import OpmlError, Subscription, read_opml, slug, write_opml
from streams.feedtools.probe import Probe, probe

SELECT_FIELDS = ("item", "title", "link", "summary", "published")


def _report(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file at ``path`` (following a symlink) keeping its permissions."""
    path = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_opml(opml_path: str, into: str | None) -> int:
    try:
        data = Path(opml_path).read_bytes()
    except OSError as exc:
        _report(f"{opml_path}: cannot read: {exc.strerror}")
        return 1
    text, known = "", {}
    if into:
        try:
            text = Path(into).read_text(encoding="utf-8") if Path(into).exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            _report(f"{into}: cannot read config: {exc}")
            return 1
        config = parse_config(text, into)  # ConfigError: the caller reports it
        known = {canonical_url(str(f.url)): f.name for f in config.feeds if f.kind == "feed"}
    contents = read_opml(data, opml_path, taken_names=known.values())
    added: list[Subscription] = []
    duplicates: list[str] = []
    for sub in contents.subscriptions:
        first = known.get(canonical_url(sub.url))
        if first is not None:
            duplicates.append(f"{opml_path}: skipped {sub.title!r}: {sub.url} is already "
                              f"feed '{first}'")
            continue
        known[canonical_url(sub.url)] = sub.name
        added.append(sub)
    _report(*contents.skipped, *duplicates)
    if into:
        updated = add_feeds(text, added)
        parse_config(updated, into)  # never write a config the worker would refuse
        _write_atomically(Path(into), updated)
        _report(f"{into}: added {len(added)} feeds, skipped {len(duplicates)} duplicates, "
                f"{len(contents.skipped)} unusable outlines")
    else:
        print("feeds:\n" + feed_entries(added), end="")
        _report(f"{opml_path}: {len(added)} feeds, {len(duplicates)} duplicates skipped, "
                f"{len(contents.skipped)} unusable outlines")
    return 0


def _polling(config_path: str | None) -> PollingConfig:
    """The config's ``polling:`` (the worker's limits), defaults without a config file."""
    path = config_path or str(settings.config_path)
    if config_path is None and not Path(path).exists():
        return PollingConfig()
    return load_config(path).polling


async def discover_feeds(url: str, polling: PollingConfig) -> int:
    fetcher = Fetcher(polling)
    try:
        found = await discover(url, fetcher)
    finally:
        await fetcher.close()
    _report(*(f"not usable: {problem}" for problem in found.problems))
    if not found.found:
        _report(f"{url}: no feed declared by the page or found at the usual paths; "
                "try `wirewatch feeds probe URL` for its headline lists")
        return 1
    for feed in found.found:
        entry = feed_entries([Subscription(slug(feed.title) or "feed", feed.url, feed.title)])
        print(f"  # {feed.title or '(untitled)'}: {feed.items} items ({feed.how})\n{entry}",
              end="")
    return 0



def _select_snippet(probed: Probe, select: HtmlSelectors) -> str:
    entry = {"name": probed.feed.name, "url": str(probed.feed.url), "kind": "html",
             "select": select.model_dump(exclude_defaults=True)}
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=1000)
    return "".join(f"       {line}\n" for line in block.splitlines())


def _print_candidates(url: str, probed: Probe, limit: int) -> int:
    if not probed.candidates:
        _report(f"{url}: an HTML page with no list of links that read like headlines; "
                "write the selectors by hand (--select-item, --select-title)")
        return 1
    print(f"{url} is an HTML page, not a feed. Headline lists found, best first:")
    for number, candidate in enumerate(probed.candidates, 1):
        select = candidate.select
        options = " ".join(f"--select-{key} {shlex.quote(value)}" for key, value in
                           select.model_dump(exclude_defaults=True).items())
        print(f"\n  {number}. {len(candidate.entries)} items: {options}")
        for entry in candidate.entries[:limit]:
            when = entry.published.strftime("%Y-%m-%d %H:%MZ") if entry.published else "-"
            print(f"     {when:17}  {entry.title}  <{entry.url}>")
        print("     as a feed (times are read as UTC unless you add timezone:):")
        print(_select_snippet(probed, select), end="")
    return 0


def _print_probe(url: str, probed: Probe, limit: int) -> int:
    outcome = probed.outcome
    if outcome is None:
        return _print_candidates(url, probed, limit)
    if outcome.outcome == "error":
        _report(f"{url}: the worker would fail this poll: {outcome.error_reason}: "
                f"{outcome.error}")
        return 1
    print(f"{url}: {outcome.items} items; a first poll publishes {len(probed.records)} "
          "headlines, in this order (times in UTC):")
    for record in probed.records[:limit]:
        print(format_headline(record))
    if len(probed.records) > limit:
        print(f"... {len(probed.records) - limit} more (--limit)")
    return 0


def _selectors(given: dict[str, str | None]) -> HtmlSelectors | None:
    """``HtmlSelectors`` from the --select-* options (ValueError naming the option)."""
    chosen = {key: value for key, value in given.items() if value is not None}
    if not chosen:
        return None
    try:
        return HtmlSelectors(**chosen)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0])
            flag = f"--select-{field}" if field in SELECT_FIELDS else f"--{field.replace('_', '-')}"
            problems.append(f"{flag}: {error['msg'].removeprefix('Value error, ')}")
        raise ValueError("; ".join(problems)) from None


@app.command(
    argument("action", type=click.Choice(["import", "export", "discover", "probe"])),
    argument("target", required=False),
    option("--into", default=None, help="import: add the feeds to this config file."),
    option("--config", "config_path", default=None,
           help="export, discover, probe: the config to read (default $WIREWATCH_CONFIG)."),
    *(option(f"--select-{key}", f"select_{key}", default=None,
             help=f"probe: CSS selector '{key}' of an HTML list.") for key in SELECT_FIELDS),
    option("--date-format", default=None, help="probe: strptime format of the dates."),
    option("--timezone", default=None, help="probe: IANA zone of the page's times."),
    option("--limit", type=int, default=10, show_default=True, help="probe: items shown."),
    base=PlainCommand,
)
async def feeds(self: PlainCommand, action: str, target: str | None, into: str | None,
                config_path: str | None, limit: int, **select: str | None) -> int:
    """`feeds import FILE.opml [--into CONFIG]`, `feeds export`, `feeds discover URL`,
    `feeds probe URL [--select-item S --select-title S ...]`."""
    if action != "export" and not target:
        _report(f"feeds {action}: needs {'an OPML file' if action == 'import' else 'a URL'}")
        return 2
    try:
        if action == "import":
            return import_opml(str(target), into)
        if action == "export":
            config = load_config(config_path or str(settings.config_path))
            print(write_opml(config.feeds), end="")
            return 0
        polling = _polling(config_path)
        if action == "discover":
            return await discover_feeds(str(target), polling)
        given = {key.removeprefix("select_"): value for key, value in select.items()}
        probed = await probe(str(target), polling, _selectors(given))
        return _print_probe(str(target), probed, limit)
    except (ConfigError, OpmlError) as exc:
        _report(str(exc))
    except FetchError as exc:
        _report(f"{target}: cannot fetch: {exc.reason}: {exc}")
    except ValueError as exc:
        _report(f"feeds {action}: {exc}")
    return 1
