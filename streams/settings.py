"""Process settings read from the environment (the deployment contract).

Everything an operator sets per process lives here; everything about *what* to
watch (feeds, rules, sinks) lives in the YAML config file (see ``config.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BROKER = "kafka://127.0.0.1:9092"
DEFAULT_CONFIG = "./wirewatch.yaml"
DEFAULT_WEB_PORT = 6066


def bootstrap_servers(broker: str) -> list[str]:
    """Faust broker URL(s) (``;``-separated, ``kafka://`` scheme) as an aiokafka host list."""
    return [part.strip().split("://", 1)[-1] for part in broker.split(";") if part.strip()]


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"environment variable {name}={raw!r}: not an integer") from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings of one Wirewatch process.

    ``broker``: ``WIREWATCH_BROKER``, Faust broker URL(s), ``;``-separated.
    ``config_path``: ``WIREWATCH_CONFIG``, the YAML config.
    ``web_port``: ``WIREWATCH_WEB_PORT``, the worker's HTTP port (``/metrics``).
    ``partitions``: ``WIREWATCH_PARTITIONS``, partitions of the data topics (default 6).
    ``replication``: ``WIREWATCH_REPLICATION``, replication factor of the topics Wirewatch
    creates (default 1; use 3 on a production cluster).
    ``namespace``: ``WIREWATCH_NAMESPACE``, the Faust app id (consumer group) and the
    prefix of every topic (default ``wirewatch``: ``wirewatch.headlines``, ...), so
    several independent deployments can share one Kafka cluster.
    """

    broker: str
    config_path: Path
    web_port: int
    partitions: int
    replication: int
    namespace: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            broker=os.environ.get("WIREWATCH_BROKER") or DEFAULT_BROKER,
            config_path=Path(os.environ.get("WIREWATCH_CONFIG") or DEFAULT_CONFIG),
            web_port=_int_env("WIREWATCH_WEB_PORT", DEFAULT_WEB_PORT),
            partitions=_int_env("WIREWATCH_PARTITIONS", 6),
            replication=_int_env("WIREWATCH_REPLICATION", 1),
            namespace=os.environ.get("WIREWATCH_NAMESPACE") or "wirewatch",
        )

    def topic(self, name: str) -> str:
        """Full name of one of Wirewatch's topics, e.g. ``topic("headlines")``."""
        return f"{self.namespace}.{name}"

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker list without Faust's ``kafka://`` scheme, for aiokafka clients."""
        return bootstrap_servers(self.broker)
