"""Wirewatch on a broker that only speaks SASL/SCRAM over TLS, and a closed web port.

The pipeline runs end to end over SASL_SSL: ``rules apply`` and ``rules list`` (admin,
producer and reader clients), a worker (Faust's consumer, producer and topic creation,
the rules follower), and the test's own reader. A wrong password fails clearly, and
no password shows in any output.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO, TopicReader, Worker, add_stories, site_feeds, wait_until, write
from .secure_kafka import SaslBroker, sasl_broker  # noqa: F401 -- the fixture

pytestmark = pytest.mark.kafka

RULES = [{"name": "cop29", "any": ["COP29"]}]


def wirewatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams", *args], env={**os.environ, **env},
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def listen_addresses(port: int) -> set[str]:
    """Local addresses a socket listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


async def test_pipeline_over_sasl_ssl_with_only_metrics_on_loopback(
    sasl_broker: SaslBroker, news_site, namespace, tmp_path, start_worker  # noqa: F811
):
    env = {**sasl_broker.env(), "WIREWATCH_NAMESPACE": namespace}
    stories = add_stories(news_site, "ICESCO Director-General invited to COP29",
                          "UAE takes precautions ahead of expected storm")
    config = write(tmp_path / "wirewatch.yaml", feeds=site_feeds(news_site), rules=RULES)

    applied = await asyncio.to_thread(wirewatch, env, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    listed = await asyncio.to_thread(wirewatch, env, "rules", "list")
    assert listed.stdout.startswith("cop29: "), listed.stderr

    worker = start_worker(config, **env)
    options = sasl_broker.client_options()
    async with TopicReader(f"{namespace}.classified", options) as classified:
        await classified.wait_for(lambda m: len(m) >= 4, 120,
                                  "4 classified headlines over SASL_SSL", worker)
        assert {v["title"] for _, v in classified.messages} == {s.title for s in stories}
    async with TopicReader(f"{namespace}.alerts", options) as alerts:
        await alerts.wait_for(lambda m: len(m) >= 1, 60, "the COP29 alert", worker)
        assert alerts.messages[0][1]["rule"] == "cop29"

    # Closed by default: /metrics on loopback only, Faust's table and router views gone.
    base = f"http://127.0.0.1:{worker.port}"
    await wait_until(lambda: http_status(f"{base}/metrics") == 200, 30, "/metrics", worker)
    assert listen_addresses(worker.port) == {"0100007F"}  # 127.0.0.1, nothing else
    for path in ("/table/feed-state/", "/table/feed-state/site-rss/", "/router/"):
        assert await asyncio.to_thread(http_status, base + path) == 404, path

    assert worker.stop() == 0
    assert sasl_broker.password not in worker.log_path.read_text(errors="replace")
    for result in (applied, listed):
        assert sasl_broker.password not in result.stdout + result.stderr


async def test_wrong_password_fails_clearly_without_echoing_it(
    sasl_broker: SaslBroker, namespace, tmp_path  # noqa: F811
):
    """SCRAM through a CLI command; PLAIN, which sends the password itself, through a
    worker logging at debug level, where aiokafka logs every request it sends."""
    wrong = "Wrong-" + sasl_broker.password[::-1]
    env = {**sasl_broker.env(password=wrong), "WIREWATCH_NAMESPACE": namespace}
    listed = await asyncio.to_thread(wirewatch, env, "rules", "list")
    assert listed.returncode == 2
    assert "SaslAuthenticationFailed" in listed.stderr
    assert "cannot connect to Kafka" in listed.stderr
    assert wrong not in listed.stdout + listed.stderr

    config = write(tmp_path / "wirewatch.yaml", feeds=[
        {"name": "x", "url": "http://127.0.0.1:9/rss"}])
    env = {**sasl_broker.env(password=wrong, mechanism="PLAIN"), "WIREWATCH_LOG_LEVEL": "debug"}
    worker = Worker(namespace, config, tmp_path / "worker.log", **env).start()
    assert worker.proc is not None
    deadline = time.monotonic() + 120
    while worker.proc.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    code = worker.stop()  # kills it if it is still running: that would be a failure
    log = worker.log_path.read_text(errors="replace")
    assert code not in (0, None, -15), worker.log_tail()
    assert "SaslAuthenticateRequest" in log, "the debug log shows the login request"
    assert "SaslAuthenticationFailed" in log
    assert wrong not in log
