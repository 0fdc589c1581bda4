"""Process settings read from the environment (the deployment contract).

Everything an operator sets per process lives here; everything about *what* to
watch (feeds, rules, sinks) lives in the YAML config file (see ``config.py``).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.kafka_security import KafkaSecurity

DEFAULT_BROKER = "kafka://127.0.0.1:9092"
DEFAULT_CONFIG = "./wirewatch.yaml"
DEFAULT_WEB_PORT = 6066
#: Only this machine can reach /metrics unless the operator opens it (the Docker image
#: sets 0.0.0.0 so that Prometheus can scrape the container).
DEFAULT_WEB_BIND = "127.0.0.1"


def bootstrap_servers(broker: str) -> list[str]:
    """Faust broker URL(s) (``;``-separated, ``kafka://`` scheme) as an aiokafka host list."""
    return [part.strip().split("://", 1)[-1] for part in broker.split(";") if part.strip()]


def kafka_client_options(broker: str, security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for every aiokafka client Wirewatch builds (consumer, producer,
    admin): the brokers and the TLS/SASL options, the same ones Faust gets."""
    return {"bootstrap_servers": bootstrap_servers(broker), **security.client_options()}


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"environment variable {name}={raw!r}: not an integer") from exc


def _switch_env(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise SystemExit(f"environment variable {name}={raw!r}: not on or off")


def _broker_env() -> str:
    broker = os.environ.get("WIREWATCH_BROKER") or DEFAULT_BROKER
    if "@" in broker:  # kafka://user:secret@host: the value is not echoed, it holds a secret
        raise SystemExit("environment variable WIREWATCH_BROKER: credentials in the URL are "
                         "not supported (and would show in logs); set "
                         "WIREWATCH_KAFKA_SASL_USERNAME and WIREWATCH_KAFKA_SASL_PASSWORD")
    return broker


def _web_bind_env() -> str:
    raw = os.environ.get("WIREWATCH_WEB_BIND") or DEFAULT_WEB_BIND
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError as exc:
        raise SystemExit(f"environment variable WIREWATCH_WEB_BIND={raw!r}: not an IP "
                         "address (127.0.0.1, 0.0.0.0, ::, ...)") from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings of one Wirewatch process.

    ``broker``: ``WIREWATCH_BROKER``, Faust broker URL(s), ``;``-separated.
    ``config_path``: ``WIREWATCH_CONFIG``, the YAML config.
    ``web_port``: ``WIREWATCH_WEB_PORT``, the worker's HTTP port (``/metrics``).
    ``web_bind``: ``WIREWATCH_WEB_BIND``, the address it listens on (default 127.0.0.1).
    ``partitions``: ``WIREWATCH_PARTITIONS``, partitions of the data topics (default 6).
    ``replication``: ``WIREWATCH_REPLICATION``, replication factor of the topics Wirewatch
    creates (default 1; use 3 on a production cluster).
    ``namespace``: ``WIREWATCH_NAMESPACE``, the Faust app id (consumer group) and the
    prefix of every topic (default ``wirewatch``: ``wirewatch.headlines``, ...), so
    several independent deployments can share one Kafka cluster.
    ``kafka_security``: the ``WIREWATCH_KAFKA_*`` TLS and SASL settings.
    ``kafka_transactions``: ``WIREWATCH_KAFKA_TRANSACTIONS`` (default ``on``): the story desk
    writes each batch in a Kafka transaction (exactly once) with an idempotent producer;
    ``off`` for brokers without them (``run --demo``'s embedded broker): at-least-once.
    """

    broker: str
    config_path: Path
    web_port: int
    partitions: int
    replication: int
    namespace: str
    web_bind: str = DEFAULT_WEB_BIND
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    kafka_transactions: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            broker=_broker_env(),
            config_path=Path(os.environ.get("WIREWATCH_CONFIG") or DEFAULT_CONFIG),
            web_port=_int_env("WIREWATCH_WEB_PORT", DEFAULT_WEB_PORT),
            partitions=_int_env("WIREWATCH_PARTITIONS", 6),
            replication=_int_env("WIREWATCH_REPLICATION", 1),
            namespace=os.environ.get("WIREWATCH_NAMESPACE") or "wirewatch",
            web_bind=_web_bind_env(),
            kafka_security=KafkaSecurity.from_env(os.environ),
            kafka_transactions=_switch_env("WIREWATCH_KAFKA_TRANSACTIONS", True),
        )

    def topic(self, name: str) -> str:
        """Full name of one of Wirewatch's topics, e.g. ``topic("headlines")``."""
        return f"{self.namespace}.{name}"

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker list without Faust's ``kafka://`` scheme, for aiokafka clients."""
        return bootstrap_servers(self.broker)

    @property
    def kafka_client_options(self) -> dict[str, Any]:
        """aiokafka client options for this process (see ``kafka_client_options``)."""
        return kafka_client_options(self.broker, self.kafka_security)
