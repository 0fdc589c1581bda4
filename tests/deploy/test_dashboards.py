"""The provisioned Grafana dashboards: generated, wired to the datasource, valid PromQL."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CollectorRegistry

from streams import metrics

from .dashboard_exprs import (
    DASHBOARD_DIR,
    REPO,
    Expr,
    all_exprs,
    dashboard_files,
    panel_exprs,
    promtool,
)

GRAFANA_DIR = REPO / "deploy" / "grafana"
EXPRS = all_exprs()

#: Sample suffixes Prometheus shows for each metric family type.
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def load_build() -> ModuleType:
    pytest.importorskip("grafana_foundation_sdk")
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_board(name: str) -> dict:
    return json.loads((DASHBOARD_DIR / name).read_text(encoding="utf-8"))


def provisioned_datasource_uid() -> str:
    path = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
    (datasource,) = yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]
    return datasource["uid"]


def exprs_of(name: str) -> list[Expr]:
    return list(panel_exprs(DASHBOARD_DIR / name))


def test_committed_json_is_what_build_py_generates():
    build = load_build()
    renderers: dict[str, Callable[[], str]] = build.DASHBOARDS
    assert sorted(renderers) == [path.name for path in dashboard_files()]
    for name, render in renderers.items():
        committed = (DASHBOARD_DIR / name).read_text(encoding="utf-8")
        assert committed == render(), f"{name} is stale: run python deploy/grafana/build.py"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_every_panel_queries_the_provisioned_prometheus(path: Path):
    uid = provisioned_datasource_uid()
    board = json.loads(path.read_text(encoding="utf-8"))
    assert board["panels"], f"{path.name}: no panels"
    for panel in board["panels"]:
        where = f"{path.name}: {panel['title']}"
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, where
        assert panel["targets"], f"{where}: no queries"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), f"{where}: duplicate refId"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, where
            assert target["expr"].strip(), f"{where}: empty query"


def test_dashboards_have_distinct_uids_and_ids():
    boards = [json.loads(path.read_text(encoding="utf-8")) for path in dashboard_files()]
    assert len({board["uid"] for board in boards}) == len(boards)
    for board in boards:
        ids = [panel["id"] for panel in board["panels"]]
        assert len(set(ids)) == len(ids), board["uid"]


def test_overview_has_the_operator_panels():
    queries = [e.expr for e in exprs_of("overview.json")]
    for metric, grouping in [
        ("wirewatch_headlines_new_total", "feed"),
        ("wirewatch_headlines_classified_total", "topic"),
        ("wirewatch_headlines_by_region_total", "region"),
        ("wirewatch_alerts_total", "rule, severity"),
    ]:
        assert any(metric in q and f"by ({grouping})" in q for q in queries), metric
    publication = 'wirewatch_alert_latency_seconds_bucket{stage="publication"}'
    latency = [q for q in queries if publication in q]
    assert sorted(re.findall(r"histogram_quantile\(([\d.]+)", " ".join(latency))) == [
        "0.5",
        "0.95",
        "0.99",
    ]
    health = [e.expr for e in exprs_of("overview.json") if e.title.startswith("Feed health")]
    assert any("wirewatch_feed_last_success_timestamp_seconds" in q for q in health)
    assert any('outcome="error"' in q for q in health)
    assert any('outcome="not_modified"' in q for q in health)


def test_pipeline_has_the_stage_panels():
    queries = " ".join(e.expr for e in exprs_of("pipeline.json"))
    for needle in [
        "wirewatch_total_events_per_stream_total",  # throughput per agent
        "wirewatch_consumer_lag_messages",
        "wirewatch_rebalance_done_latency_count",
        'up{job="wirewatch"}',  # worker count
        "wirewatch_dead_letters_total",
    ]:
        assert needle in queries, needle


def exposed_metric_names() -> set[str]:
    """Sample names of Wirewatch's registry plus Faust's sensor, as Prometheus sees them."""
    faust_registry = CollectorRegistry()
    FaustMetrics.create(faust_registry, "wirewatch")
    return {
        family.name + suffix
        for registry in (metrics.REGISTRY, faust_registry)
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_every_wirewatch_metric_queried_is_exposed():
    exposed = exposed_metric_names()
    queried = {name for e in EXPRS for name in re.findall(r"\bwirewatch_\w+", e.expr)}
    assert sorted(queried - exposed) == []


@pytest.mark.parametrize("expr", EXPRS, ids=lambda e: e.label)
def test_expression_parses(expr: Expr, tmp_path: Path):
    """promtool parses each expression as a recording rule (PromQL syntax and types)."""
    rules = {"groups": [{"name": "parse", "rules": [{"record": "check:expr", "expr": expr.expr}]}]}
    path = tmp_path / "parse.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{expr.label}: {result.stdout}{result.stderr}"
