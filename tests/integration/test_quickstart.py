"""`wirewatch run --demo`: the quickstart on the embedded broker, as a newcomer runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from streams.demo.timeline import seed_stories


def test_run_demo_prints_seed_headlines_then_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", "run", "--demo", "--step", "1"], cwd=tmp_path,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    titles = {title for title, _ in seed_stories()}
    printed: list[str] = []
    headlines = set()
    deadline = time.monotonic() + 120
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline and len(headlines) < 8:
            line = proc.stdout.readline()
            if not line:
                break
            printed.append(line.rstrip())
            headlines |= {t for t in titles if t in line and "[demo-" in line}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    output = "\n".join(printed) + rest
    assert "embedded broker (Tansu)" in output
    assert len(headlines) >= 8, output[-3000:]
    assert proc.returncode == 0, output[-3000:]
