"""The YAML config file: which feeds to watch and how politely to poll them.

``load_config`` validates the whole file and raises ``ConfigError`` listing every
problem with its place (``file:line: feeds[1].url: ...``), so ``wirewatch
check-config`` can print them all at once. Sections other agents own (``rules:``,
``sinks:``) are kept as raw data here and validated by those agents.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from streams.feeds.htmllist import HtmlSelectors
from streams.feeds.urls import canonical_url

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")  # category/name allowed

Name = Annotated[str, Field(pattern=NAME_PATTERN.pattern, min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    """One watched source: an RSS/Atom/RDF/JSON feed, or an HTML "Latest news" list."""

    name: Name
    url: AnyHttpUrl
    interval: float = Field(default=60.0, ge=1.0, le=86_400.0)
    kind: Literal["feed", "html"] = "feed"
    select: HtmlSelectors | None = None
    country: str | None = None  # ISO 3166-1 alpha-2: resolves place names shared by countries

    @field_validator("country")
    @classmethod
    def _known_country(cls, code: str | None) -> str | None:
        import pycountry  # the classifier's dependency; only configs that set it need it

        if code is not None and (len(code) != 2 or not code.isupper()
                                 or pycountry.countries.get(alpha_2=code) is None):
            raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r} (e.g. GB, US)")
        return code

    @model_validator(mode="after")
    def _selectors_match_kind(self) -> FeedConfig:
        if self.kind == "html" and self.select is None:
            raise ValueError("kind: html needs 'select' with at least 'item' and 'title'")
        if self.kind == "feed" and self.select is not None:
            raise ValueError("'select' is only for kind: html")
        return self


class PollingConfig(_Strict):
    """How every feed is fetched; defaults suit most public sites."""

    user_agent: str = "Wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"
    timeout: float = Field(default=20.0, gt=0, le=300)
    max_bytes: int = Field(default=5_000_000, ge=1024)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    max_backoff: float = Field(default=3600.0, ge=1)
    parse_timeout: float = Field(default=10.0, gt=0, le=300)  # seconds per document
    parse_workers: int = Field(default=2, ge=1, le=32)  # parsing processes per worker
    block_private_addresses: bool = False  # refuse loopback/private/link-local targets
    allow_networks: list[IPv4Network | IPv6Network] = Field(default_factory=list)


def _feed_field(item: Any, key: str) -> Any:
    """A field of a raw feed mapping or a ``FeedConfig``, in plain form (for comparisons)."""
    value = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
    return value.model_dump(exclude_defaults=True) if isinstance(value, BaseModel) else value


def _comparable_url(url: object) -> str:
    """The canonical form of a feed's URL, or "" when it is no URL (reported elsewhere)."""
    try:
        return canonical_url(str(url)) if url else ""
    except ValueError:
        return ""


class StoriesConfig(_Strict):
    """How stories are reported: update records at most once per ``update_interval`` s."""

    update_interval: float = Field(default=60.0, ge=0, le=86_400)


class WirewatchConfig(_Strict):
    """The whole config file."""

    feeds: list[FeedConfig] = Field(default_factory=list)
    polling: PollingConfig = Field(default_factory=PollingConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    sinks: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("feeds", mode="wrap")
    @classmethod
    def _unique_feeds(
        cls, feeds: Any, handler: ValidatorFunctionWrapHandler
    ) -> list[FeedConfig]:
        """Flag each repeated ``name``, and each feed polling the same URL the same way as
        an earlier one, at its own place, alongside the feeds' other errors."""
        errors: list[InitErrorDetails] = []
        seen: set[str] = set()
        sources: dict[tuple[str, str], object] = {}  # (canonical URL, selectors) -> first
        for index, item in enumerate(feeds if isinstance(feeds, list) else []):
            name, url = _feed_field(item, "name"), _feed_field(item, "url")
            if isinstance(name, str) and name in seen:
                errors.append(InitErrorDetails(
                    type=PydanticCustomError("duplicate_name", "duplicate feed name '{name}'",
                                             {"name": name}),
                    loc=(index, "name"), input=name,
                ))
            seen.add(str(name))
            source = (_comparable_url(url), repr(_feed_field(item, "select")))
            if source[0] and source in sources:
                errors.append(InitErrorDetails(
                    type=PydanticCustomError("duplicate_url", "same URL as feed '{first}'",
                                             {"first": sources[source]}),
                    loc=(index, "url"), input=url,
                ))
            sources.setdefault(source, name)
        try:
            validated = handler(feeds)
        except ValidationError as exc:
            if not errors:
                raise
            errors = [*exc.errors(), *errors]  # type: ignore[list-item]
        if errors:
            raise ValidationError.from_exception_data("feeds", errors)
        return validated

    @cached_property
    def feeds_by_name(self) -> dict[str, FeedConfig]:
        return {f.name: f for f in self.feeds}

    def feed(self, name: str) -> FeedConfig | None:
        """The feed called ``name`` (a dict lookup: every poll tick asks)."""
        return self.feeds_by_name.get(name)


class ConfigError(Exception):
    """A config file that cannot be used; ``problems`` holds one line per error."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _yaml_problem(exc: yaml.YAMLError, path: Path | str) -> str:
    """One ``file:line: invalid YAML: ...`` line (PyYAML's own message spans several)."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f"{path}: invalid YAML: {exc}"
    what = exc.problem or "syntax error"
    if exc.context and exc.context_mark is not None:
        what += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return f"{path}:{exc.problem_mark.line + 1}: invalid YAML: {what}"


def parse_config(text: str, path: Path | str) -> WirewatchConfig:
    """Validate config ``text`` read from ``path`` (used in messages only)."""
    loader = yaml.SafeLoader(text)
    try:  # one parse: the node tree gives line numbers, the data is built from it
        tree = loader.get_single_node()
        data = loader.construct_document(tree) if tree is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError(path, [_yaml_problem(exc, path)]) from exc
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [f"{path}:1: the config must be a mapping with 'feeds:'"])
    try:
        return WirewatchConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            line = _line_of(tree, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {_format_loc(loc)}: {err['msg']}")
        raise ConfigError(path, problems) from exc


def _read_config(path: Path | str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"{path}: cannot read config: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"{path}: cannot read config: not UTF-8 ({exc.reason} "
                                 f"at byte {exc.start})"]) from exc


def load_config(path: Path | str) -> WirewatchConfig:
    """Read and validate the config file at ``path``."""
    return parse_config(_read_config(path), path)


# A section check returns (location, message) pairs: the location is a path into the YAML
# (("rules", 2, "near"); () when no line applies), the message does not name the file.
SectionProblem = tuple[tuple[str | int, ...], str]
SectionCheck = Callable[[WirewatchConfig, str], list[SectionProblem]]
_section_checks: list[SectionCheck] = []


def register_section_check(check: SectionCheck) -> SectionCheck:
    """Let an agent validate its own section (``rules:``, ``sinks:``) in ``config_problems``."""
    _section_checks.append(check)
    return check


LiveCheck = Callable[[WirewatchConfig, str], Awaitable[list[str]]]
_live_checks: list[LiveCheck] = []


def register_live_check(check: LiveCheck) -> LiveCheck:
    """Let an agent compare a valid config with the running system for ``check-config``
    (e.g. the config's rules with the live rules topic); it returns lines to print."""
    _live_checks.append(check)
    return check


async def live_status(config: WirewatchConfig, path: str) -> list[str]:
    """Every registered live check's lines for the valid ``config`` read from ``path``."""
    return [line for check in _live_checks for line in await check(config, path)]


def config_problems(path: Path | str) -> list[str]:
    """Every problem in the config at ``path``, all sections (empty when it is valid).

    The agents' sections are checked by what they registered: Faust's autodiscovery imports
    them (every ``wirewatch`` command does; the worker calls ``app.discover()`` first)."""
    try:
        text = _read_config(path)
        config = parse_config(text, path)
    except ConfigError as exc:
        return exc.problems
    problems = [problem for check in _section_checks for problem in check(config, str(path))]
    if not problems:
        return []
    tree = yaml.compose(text)  # the text checked, not a second read of a file that may change
    return [_placed(location, message, str(path), tree) for location, message in problems]


def _placed(location: tuple[str | int, ...], message: str, path: str,
            tree: yaml.Node | None) -> str:
    """``path:LINE: message`` when ``location`` finds a line, else ``path: message``."""
    line = _line_of(tree, location) if location else None
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"
