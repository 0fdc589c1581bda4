"""A second real Kafka broker whose only client listener is SASL (SCRAM, PLAIN) over TLS.

``deploy/kafka/local.sh`` starts it (``KAFKA_SECURITY=sasl_ssl``) on free ports, with a
CA and broker certificate made here by ``trustme`` and a SCRAM user created when the
storage is formatted. The plain broker of the other tests is left alone.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from streams.embedded_broker import free_port
from streams.kafka_security import KafkaSecurity
from streams.settings import kafka_client_options

from .conftest import REPO

LOCAL_SH = REPO / "deploy" / "kafka" / "local.sh"
START_TIMEOUT = 150  # seconds; the broker usually answers within 20 on a busy machine


@dataclass(frozen=True)
class SaslBroker:
    url: str
    username: str
    password: str
    cafile: Path

    def env(self, password: str | None = None,
            mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:
        """The Wirewatch settings a process needs to use this broker."""
        return {
            "WIREWATCH_BROKER": self.url,
            "WIREWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "WIREWATCH_KAFKA_SASL_MECHANISM": mechanism,
            "WIREWATCH_KAFKA_SASL_USERNAME": self.username,
            "WIREWATCH_KAFKA_SASL_PASSWORD": password or self.password,
            "WIREWATCH_KAFKA_SSL_CAFILE": str(self.cafile),
        }

    def client_options(self) -> dict:
        """aiokafka options for the test's own readers, built by Wirewatch's helper."""
        return kafka_client_options(self.url, KafkaSecurity.from_env(self.env()))


def write_tls_files(folder: Path) -> tuple[Path, Path]:
    """A fresh CA, and the broker's PEM keystore (PKCS#8 key + chain) for 127.0.0.1."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    keystore, cafile = folder / "broker.pem", folder / "ca.pem"
    keystore.write_bytes(pkcs8 + b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    keystore.chmod(0o600)
    ca.cert_pem.write_to_path(str(cafile))
    return keystore, cafile


@pytest.fixture(scope="session")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    folder = tmp_path_factory.mktemp("sasl-kafka")
    keystore, cafile = write_tls_files(folder)
    username, password = "wirewatch", secrets.token_hex(12)
    port = free_port()
    env = {**os.environ, "KAFKA_SECURITY": "sasl_ssl", "KAFKA_PORT": str(port),
           "KAFKA_CONTROLLER_PORT": str(free_port()), "KAFKA_TLS_KEYSTORE": str(keystore),
           "KAFKA_TLS_CA": str(cafile), "KAFKA_SASL_USERS": f"{username}:{password}",
           "KAFKA_START_TIMEOUT": str(START_TIMEOUT)}
    started = subprocess.run([str(LOCAL_SH), "start"], env=env, capture_output=True,
                             text=True, timeout=START_TIMEOUT + 60, check=False)
    try:
        if started.returncode != 0:
            pytest.fail(f"SASL_SSL broker did not start:\n{started.stderr}")
        yield SaslBroker(f"kafka://127.0.0.1:{port}", username, password, cafile)
    finally:
        subprocess.run([str(LOCAL_SH), "stop"], env=env, capture_output=True, timeout=90,
                       check=False)
