"""The Prometheus config and alert rules: promtool accepts them and every alert is tested."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from .dashboard_exprs import REPO, promtool, rule_files

PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES_FILE = PROMETHEUS_DIR / "rules" / "wirewatch.rules.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))

#: The alerts the deployment promises (README, docs/DEPLOYMENT.md).
REQUIRED_ALERTS = {
    "WirewatchFeedStale",
    "WirewatchFeedErrorRatioHigh",
    "WirewatchHtmlSelectorEmpty",
    "WirewatchWorkerDown",
    "WirewatchConsumerLagGrowing",
    "WirewatchNoHeadlines",
    "WirewatchDeadLetters",
}


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def alerts() -> list[dict]:
    groups = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_check_config():
    result = run_promtool("check", "config", PROMETHEUS_DIR / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # The config loads the rules file through its relative rule_files glob.
    assert "1 rule files found" in result.stdout


def test_check_rules():
    result = run_promtool("check", "rules", *rule_files())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda path: path.name)
def test_promtool_unit_tests_pass(test_file):
    result = run_promtool("test", "rules", test_file)
    assert result.returncode == 0, result.stdout + result.stderr


def test_required_alerts_exist():
    assert {rule["alert"] for rule in alerts()} == REQUIRED_ALERTS


def test_every_alert_has_a_firing_and_a_quiet_case():
    """Each alert is checked both where it must fire and where it must stay silent."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested staying quiet"


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_alert_has_severity_and_text(rule):
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()
