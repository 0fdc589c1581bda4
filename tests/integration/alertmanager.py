"""Debian's ``prometheus-alertmanager`` run for real, with the shipped config, on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streams.embedded_broker import free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"


@contextmanager
def running_alertmanager(workdir: Path) -> Iterator[str]:
    """Start Alertmanager (no clustering) and yield its base URL once it is ready."""
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.fail("prometheus-alertmanager is not installed "
                    "(make test installs deploy/apt-packages.txt)")
    port = free_port()
    log_path = workdir / "alertmanager.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={CONFIG}", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Alertmanager did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def api(base: str, path: str, body: object = None, **params: str | list[str]) -> object:
    """GET (or POST ``body`` as JSON to) Alertmanager's API v2."""
    query = urllib.parse.urlencode(params, doseq=True)
    request = urllib.request.Request(
        f"{base}/api/v2/{path}" + (f"?{query}" if query else ""),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
