"""Metrics proven against a real Prometheus: every dashboard query and alert rule runs.

A worker polls local feeds (good ones, a broken one, an HTML list whose selector
matches nothing) with rules that fire; Debian's ``prometheus`` scrapes it with the
shipped alert rules loaded. Every PromQL expression of every dashboard panel and
every alert rule must parse and run, and the feed, headline and alert panels must
return data.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request

import pytest

from tests.deploy.dashboard_exprs import all_exprs

from .conftest import HTML_SELECT, RULES, add_stories, site_feeds, wait_until, wirewatch, write

pytestmark = pytest.mark.kafka

MACROS = {"$__rate_interval": "30s", "$__interval": "1s", "$__range": "5m"}
# Panels that must show data once headlines flowed and alerts fired (no sinks here).
MUST_HAVE_DATA = ("Headlines per minute", "Alerts per minute", "Publication-to-alert",
                  "Fetch-to-alert", "Feed health", "Feed poll errors", "Workers up",
                  "Events per second", "Messages per second", "Classification time",
                  "Feed poll duration", "Dead letters")  # dead letters: zero series


def query(port: int, expr: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:  # 400 for a bad expression: keep its error text
        body = exc.read()
        try:
            return json.loads(body)
        except ValueError:  # 503 "Service Unavailable" while Prometheus is still starting
            return {"status": "error", "error": f"HTTP {exc.code}: {body[:200]!r}"}


async def test_every_dashboard_query_and_alert_rule_runs_on_real_prometheus(
    news_site, namespace, tmp_path, start_worker, prometheus
):
    feeds = [*site_feeds(news_site),
             {"name": "broken", "url": f"{news_site.base_url}/missing", "interval": 1},
             {"name": "redesigned", "url": f"{news_site.base_url}/rss", "interval": 1,
              "kind": "html", "select": HTML_SELECT}]
    config = write(tmp_path / "wirewatch.yaml", feeds=feeds, rules=RULES)
    assert wirewatch(namespace, "rules", "apply", str(config)).returncode == 0
    add_stories(news_site, "Russia, Azerbaijan announce withdrawal of peacekeepers from Karabakh",
                "ICESCO Director-General invited to COP29")
    worker = start_worker(config)
    port = prometheus(worker.port)

    def has_data(expr: str) -> bool:
        return bool(query(port, expr).get("data", {}).get("result"))

    await wait_until(lambda: has_data("sum(wirewatch_alerts_total) > 0"), 120,
                     "Prometheus to scrape the first alerts", worker)
    await asyncio.sleep(5)  # a few more scrapes, so rates over 30s have points

    exprs = list(all_exprs(MACROS))
    assert len(exprs) >= 30
    answers = await asyncio.to_thread(lambda: [query(port, e.expr) for e in exprs])
    failures, empty = [], []
    for expr, answer in zip(exprs, answers, strict=True):
        if answer.get("status") != "success":
            failures.append(f"{expr.label}: {answer.get('error')}")
        elif expr.kind == "panel" and expr.title.startswith(MUST_HAVE_DATA) \
                and not answer["data"]["result"]:
            empty.append(expr.label)
    assert not failures, "\n".join(failures)
    assert not empty, f"panels without data: {empty}"
    # What metrics.observe adds: the worker's info and the lag of its assigned partitions.
    assert has_data("wirewatch_worker_info == 1")
    await wait_until(lambda: has_data('wirewatch_consumer_lag_messages{topic=~".*headlines.*"}'),
                     30, "the consumer lag of the headlines topic", worker)

    # The alert rule for an HTML list whose selector matches nothing is live.
    await wait_until(lambda: has_data('ALERTS{alertname="WirewatchHtmlSelectorEmpty",'
                                      'feed="redesigned"}'), 60, "the selector alert", worker)
