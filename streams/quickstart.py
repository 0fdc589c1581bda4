"""``wirewatch run``: the whole pipeline on one machine with nothing but Python.

Uses ``$WIREWATCH_BROKER`` when set, else starts the embedded broker; with
``--demo`` it also serves the bundled demo feeds locally. It then runs a worker
in a child process and prints each new headline as it arrives (with its topic
and regions) and each alert. Ctrl-C stops all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from faust.cli import option

from streams.app import app, settings
from streams.commands import PlainCommand
from streams.config import config_problems, load_config
from streams.demo.site import NewsSite
from streams.demo.timeline import release, write_demo_config
from streams.display import format_alert, format_headline
from streams.embedded_broker import EmbeddedBroker, free_port
from streams.kafka_security import PREFIX as KAFKA_SECURITY_PREFIX
from streams.records import Alert, ClassifiedHeadline
from streams.settings import bootstrap_servers
from streams.subscribe import subscribe
from streams.topics import ALERTS, CLASSIFIED


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _print_news(client_options: dict[str, Any]) -> None:
    """Classified headlines (topic and regions) and alerts, as they arrive."""
    topics = {CLASSIFIED: ClassifiedHeadline, ALERTS: Alert}
    async for topic, value in subscribe(topics, from_beginning=True,
                                        client_options=client_options):
        line = (f"ALERT {format_alert(value.model_dump(mode='json'))}" if topic == ALERTS
                else format_headline(value))
        print(line, flush=True)


async def _apply_rules(config_path: Path, env: dict[str, str]) -> int:
    """Publish the config's rules to the rules topic (``wirewatch rules apply``)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "rules", "apply", str(config_path), env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )
    return await proc.wait()


async def _supervise(worker: asyncio.subprocess.Process, printer: asyncio.Task,
                     log_path: Path) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until the worker dies (exit 1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(worker.wait())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopper, printer}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if waiter.done():
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        print("worker exited with code", worker.returncode, "; last log lines:",
              *tail, sep="\n", file=sys.stderr)
        code = 1
    elif printer.done() and printer.exception():
        print(f"printer failed: {printer.exception()}", file=sys.stderr)
        code = 1
    for task in (printer, stopper):
        task.cancel()
    if worker.returncode is None:
        worker.terminate()
        try:
            await asyncio.wait_for(worker.wait(), 30)
        except TimeoutError:
            worker.kill()
    return code


async def quickstart(demo: bool, step: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="wirewatch-run-"))
    env = dict(os.environ)
    # Everything started here is stopped on every way out, early error returns included.
    client_options = settings.kafka_client_options
    async with contextlib.AsyncExitStack() as stack:
        if not os.environ.get("WIREWATCH_BROKER"):
            secured = sorted(k for k in env if k.startswith(KAFKA_SECURITY_PREFIX) and env[k])
            if secured:
                print(f"{', '.join(secured)}: set, but the embedded broker is plaintext only;"
                      " set WIREWATCH_BROKER to your secured Kafka", file=sys.stderr)
                return 1
            broker = stack.enter_context(EmbeddedBroker(workdir / "broker.log"))
            env["WIREWATCH_BROKER"] = broker.url
            # Tansu answers InitProducerId with an error: no idempotent or transactional
            # producers, so the desk runs at-least-once on the embedded broker.
            env["WIREWATCH_KAFKA_TRANSACTIONS"] = "off"
            client_options = {"bootstrap_servers": bootstrap_servers(broker.url)}
            # Tansu holds a group join for half the session timeout; Faust's 60 s default
            # would keep a newcomer waiting 30 s for the first headline.
            env.setdefault("BROKER_SESSION_TIMEOUT", "10")
            print(f"embedded broker (Tansu) at {broker.url}", flush=True)
        if demo:
            site = NewsSite("Caliber demo")
            await site.start()
            stack.push_async_callback(site.stop)
            stack.callback(asyncio.create_task(release(site, step)).cancel)
            config_path = write_demo_config(site.base_url, workdir / "wirewatch.yaml")
            print(f"demo news site at {site.base_url}/rss and {site.base_url}/latest", flush=True)
        else:
            config_path = settings.config_path
        problems = config_problems(config_path)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        env["WIREWATCH_CONFIG"] = str(config_path)
        if load_config(config_path).rules and await _apply_rules(config_path, env) != 0:
            return 1
        port = settings.web_port if _port_is_free(settings.web_port) else free_port()
        log_path = workdir / "worker.log"
        with log_path.open("wb") as log:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "streams", "worker", "--web-port", str(port),
                env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        print(f"worker started: log {log_path}, metrics http://127.0.0.1:{port}/metrics",
              "Ctrl-C stops everything. New headlines (with topic and regions) and alerts:",
              sep="\n", flush=True)
        printer = asyncio.create_task(_print_news(client_options))
        return await _supervise(worker, printer, log_path)


@app.command(
    option("--demo", is_flag=True, default=False,
           help="Serve the bundled demo feeds locally and watch them."),
    option("--step", type=float, default=4.0, show_default=True,
           help="Demo: seconds between new demo headlines."),
    base=PlainCommand,
)
async def run(self: PlainCommand, demo: bool, step: float) -> int:
    """Quickstart: broker (embedded unless $WIREWATCH_BROKER), worker, live headlines."""
    return await quickstart(demo=demo, step=step)
