"""A worker whose agent or stage module cannot be imported stops at start, naming the module
(Faust's autodiscovery would only warn and run on without that module's stages)."""

import os
import subprocess
import sys

# The worker command as the `wirewatch` script runs it, with one stage module made
# unimportable, as a missing dependency would make it.
BROKEN_WORKER = """\
import sys
sys.modules["agents.alerts.match_stage"] = None
sys.argv = ["wirewatch", "worker"]
from streams.cli import main
main()
"""


def test_a_worker_whose_stage_module_cannot_be_imported_stops_and_names_it(tmp_path) -> None:
    config = tmp_path / "wirewatch.yaml"
    config.write_text("feeds: []\n")
    env = {**os.environ, "WIREWATCH_CONFIG": str(config),
           "WIREWATCH_BROKER": "kafka://127.0.0.1:9"}  # never reached
    done = subprocess.run([sys.executable, "-c", BROKEN_WORKER], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "wirewatch worker: cannot import agents.alerts.match_stage" in done.stderr
    assert "Traceback" not in done.stderr  # one clear line, not a crash
