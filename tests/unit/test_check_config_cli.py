"""``wirewatch check-config`` as a subprocess, and the environment settings it falls back on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.settings import DEFAULT_BROKER, Settings

WIREWATCH = Path(sys.executable).parent / "wirewatch"

GOOD = """\
feeds:
  - name: wire
    url: https://news.example.com/rss
  - name: latest
    url: https://example.org/latest
    kind: html
    select: {item: "li", title: "a"}
polling:
  timeout: 5
"""

BAD = """\
feeds:
  - name: wire
    url: https://news.example.com/rss
  - name: broken
    url: not-a-url
    interval: 0
  - name: wire
    url: https://example.org/
polling:
  timeout: 5
  colour: blue
"""


def check_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(WIREWATCH), "check-config", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_bad_file_prints_every_error_with_place_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    run = check_config(str(path))
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[-1] == f"{path}: 4 error(s)"
    errors = sorted(lines[:-1])
    assert [e.split(": ", 2)[:2] for e in errors] == [
        [f"{path}:11", "polling.colour"],
        [f"{path}:5", "feeds[1].url"],
        [f"{path}:6", "feeds[1].interval"],
        [f"{path}:7", "feeds[2].name"],
    ]
    assert "duplicate feed name 'wire'" in errors[3]
    assert run.stdout == ""


def test_valid_file_prints_ok_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    run = check_config(str(path))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{path}: OK (2 feeds, 0 rules, 0 sinks)"


def test_default_path_comes_from_wirewatch_config(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    run = check_config(env={"WIREWATCH_CONFIG": str(missing)})
    assert run.returncode == 1
    assert run.stderr.startswith(f"{missing}: cannot read config")


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROKER", "CONFIG", "WEB_PORT", "PARTITIONS", "REPLICATION", "NAMESPACE"):
        monkeypatch.delenv(f"WIREWATCH_{name}", raising=False)
    defaults = Settings.from_env()
    assert (defaults.broker, defaults.partitions, defaults.namespace) == (
        DEFAULT_BROKER, 6, "wirewatch")
    assert defaults.topic("headlines") == "wirewatch.headlines"

    monkeypatch.setenv("WIREWATCH_BROKER", "kafka://k1:9092;kafka://k2:9093; ")
    monkeypatch.setenv("WIREWATCH_NAMESPACE", "staging")
    monkeypatch.setenv("WIREWATCH_PARTITIONS", "12")
    monkeypatch.setenv("WIREWATCH_WEB_PORT", "")  # empty means default
    settings = Settings.from_env()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9093"]
    assert settings.topic("alerts") == "staging.alerts"
    assert (settings.partitions, settings.web_port) == (12, defaults.web_port)

    monkeypatch.setenv("WIREWATCH_PARTITIONS", "six")
    with pytest.raises(SystemExit, match="WIREWATCH_PARTITIONS='six': not an integer"):
        Settings.from_env()
