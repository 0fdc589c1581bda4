"""Every PromQL expression Wirewatch ships: Grafana panel queries and alert rules.

Used by the deploy tests (each one parses) and by the integration test that runs
each one against a real Prometheus scraping a worker. Grafana-only macros such as
``$__rate_interval`` are replaced by fixed values so Prometheus can run the queries.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "deploy" / "grafana" / "dashboards"
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"

#: Stand-ins for Grafana's macros when a panel query is sent to Prometheus directly.
GRAFANA_MACROS: Mapping[str, str] = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}

_MACRO = re.compile(r"\$\{?__\w+\}?")


class Expr(NamedTuple):
    """One PromQL expression and where it comes from."""

    kind: Literal["panel", "rule"]
    source: str  # the dashboard or rules file name
    title: str  # "panel title [refId]" or the alert name
    expr: str  # ready for Prometheus: Grafana macros replaced

    @property
    def label(self) -> str:
        return f"{self.source}: {self.title}"


def resolve_macros(expr: str, where: str, macros: Mapping[str, str] = GRAFANA_MACROS) -> str:
    """``expr`` with Grafana macros replaced; a macro without a value is an error."""
    for macro, value in macros.items():
        expr = expr.replace(macro, value)
    unknown = _MACRO.findall(expr)
    if unknown:
        raise ValueError(f"{where}: no value for Grafana macro(s) {', '.join(unknown)}")
    return expr


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # panels collapsed into a row


def panel_exprs(path: Path, macros: Mapping[str, str] = GRAFANA_MACROS) -> Iterator[Expr]:
    """Every query of every panel of the dashboard JSON at ``path``."""
    board = json.loads(path.read_text(encoding="utf-8"))
    for panel in _panels(board.get("panels", [])):
        for target in panel.get("targets", []):
            title = f"{panel.get('title', '(untitled)')} [{target.get('refId', '?')}]"
            where = f"{path.name}: {title}"
            yield Expr("panel", path.name, title, resolve_macros(target["expr"], where, macros))


def rule_exprs(path: Path) -> Iterator[Expr]:
    """The expression of every alerting and recording rule in the rules file at ``path``."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            yield Expr("rule", path.name, name, rule["expr"].strip())


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def all_exprs(macros: Mapping[str, str] = GRAFANA_MACROS) -> list[Expr]:
    """Every panel query of every dashboard, then every rule expression."""
    panels = [e for path in dashboard_files() for e in panel_exprs(path, macros)]
    return panels + [e for path in rule_files() for e in rule_exprs(path)]


def promtool() -> str:
    """Path of ``promtool``; skips the calling test when Debian's prometheus is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool missing: apt-get install prometheus (deploy/apt-packages.txt)")
    return path
