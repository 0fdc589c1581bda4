"""The ``sinks:`` section: the ``Sink`` schema, ``load_sinks``, and the checks of templates
and of what depends on the sink's kind.

A sink is a webhook (``url``), Apprise URLs (``apprise``) or an Alertmanager
(``alertmanager``). Templates fill ``string.Template`` placeholders naming alert fields;
what a template object may hold depends on the kind: anything for a webhook (it is the
JSON body), ``title`` and ``body`` for Apprise, annotation names for Alertmanager.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from string import Template
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from agents.alerts.config_section import FieldProblem, Name, Names, StrictModel, load_section
from streams.records import ALERT_FIELDS, Severity
from streams.redact import scheme_only

APPRISE_TEMPLATE_KEYS = frozenset({"title", "body"})


def _template_strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _template_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _template_strings(item)


def _placeholder_problems(text: str) -> list[str]:
    template = Template(text)
    if not template.is_valid():
        return [f"{text!r}: invalid placeholder (write $field or ${{field}}, $$ for a dollar)"]
    unknown = [name for name in template.get_identifiers() if name not in ALERT_FIELDS]
    return [f"unknown placeholder ${name}" for name in unknown]


def template_problems(template: object) -> list[str]:
    """Bad placeholders anywhere in ``template`` (a string or a JSON object)."""
    return [p for text in _template_strings(template) for p in _placeholder_problems(text)]


def sink_template_problem(kind: str, template: str | dict[str, Any] | None) -> str | None:
    """What is wrong with a template object for a sink of ``kind``, if anything."""
    if not isinstance(template, dict):
        return None
    if kind == "apprise" and not set(template) <= APPRISE_TEMPLATE_KEYS:
        extra = sorted(set(template) - APPRISE_TEMPLATE_KEYS)
        return f"template: an Apprise template has only 'title' and 'body', not {extra}"
    if kind == "alertmanager" and not all(isinstance(v, str) for v in template.values()):
        return "template: Alertmanager annotations must be strings"
    return None


def apprise_url_problems(urls: Iterable[str]) -> list[str]:
    """One line per URL Apprise cannot use (secrets left out of the message)."""
    urls = list(urls)
    if not urls:
        return []
    import apprise

    problems = []
    for index, url in enumerate(urls):
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
            usable = isinstance(url, str) and apprise.Apprise.instantiate(url) is not None
        if not usable:
            reasons = "; ".join(line for line in said.getvalue().splitlines()
                                if not line.startswith("Could not load"))
            problems.append(f"apprise[{index}]: {scheme_only(str(url))!r} is not a URL Apprise "
                            f"can use ({reasons or 'unknown service'})")
    return problems


class Sink(StrictModel):
    """Where alerts that pass the filters go: exactly one of a webhook (``url``), Apprise
    URLs (``apprise``, see ``apprise_sink``) or an Alertmanager (``alertmanager``, see
    ``alertmanager_sink``), each optionally through a template.

    ``template`` is either a string, sent as Slack-style ``{"text": ...}``, or a JSON
    object (e.g. Telegram's ``{"chat_id": "...", "text": ...}``) whose string values are
    filled in; placeholders are ``string.Template`` ones (``$title``, ``${severity}``) naming
    alert fields. Without a template the alert JSON itself is posted.
    """

    name: Name
    url: AnyHttpUrl | None = None
    apprise: tuple[str, ...] = ()
    alertmanager: AnyHttpUrl | None = None
    rules: Names = ()
    min_severity: Severity = "info"
    template: str | dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=5.0, gt=0, le=120)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff: float = Field(default=1.0, ge=0, le=60)
    max_backoff: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("template")
    @classmethod
    def _valid_template(cls, template: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        problems = template_problems(template)
        if problems:
            raise ValueError("; ".join(problems))
        return template

    @field_validator("apprise")
    @classmethod
    def _apprise_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        problems = apprise_url_problems(urls)
        if problems:
            raise ValueError("; ".join(problems))
        return urls

    @model_validator(mode="after")
    def _one_kind(self) -> Sink:
        given = [k for k in ("url", "apprise", "alertmanager") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"needs exactly one of url, apprise or alertmanager, not "
                             f"{' and '.join(given) or 'none'}")
        template_problem = sink_template_problem(self.kind, self.template)
        if template_problem:
            raise ValueError(template_problem)
        return self

    @property
    def kind(self) -> Literal["webhook", "apprise", "alertmanager"]:
        return "apprise" if self.apprise else "alertmanager" if self.alertmanager else "webhook"


def _sink_problems(raw: dict[str, Any], rule_names: Collection[str] | None
                   ) -> list[FieldProblem]:
    rules = raw.get("rules")
    if rule_names is None or not isinstance(rules, list):
        return []
    unknown = [r for r in rules if isinstance(r, str) and r not in rule_names]
    return [("rules", f"unknown rule {', '.join(map(repr, unknown))}")] if unknown else []


def load_sinks(
    raw: Sequence[Any], *, source: str, rule_names: Collection[str] | None = None
) -> list[Sink]:
    """Validate the raw ``sinks:`` list read from ``source`` (all or nothing)."""
    return load_section(raw, Sink, "sinks", source, lambda s: _sink_problems(s, rule_names))
