"""Checks of the ``sinks:`` entries that depend on the sink's kind, and of templates.

A sink is a webhook (``url``), Apprise URLs (``apprise``) or an Alertmanager
(``alertmanager``). Templates fill ``string.Template`` placeholders naming alert fields;
what a template object may hold depends on the kind: anything for a webhook (it is the
JSON body), ``title`` and ``body`` for Apprise, annotation names for Alertmanager.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from string import Template
from typing import Any

from agents.alerts.records import ALERT_FIELDS

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


def redacted(url: str) -> str:
    """``tgram://123:ABC@chat`` -> ``tgram://…``: Apprise URLs hold tokens and passwords."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep else "…"


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
            problems.append(f"apprise[{index}]: {redacted(str(url))!r} is not a URL Apprise "
                            f"can use ({reasons or 'unknown service'})")
    return problems
