"""How Wirewatch authenticates to Kafka: TLS and SASL settings from the environment.

One description, ``KafkaSecurity``, feeds both Faust (``faust_credentials``) and every
aiokafka client Wirewatch builds (``client_options``), so the worker, the CLI commands
and the tests connect the same way. Errors name the variable, never a secret's value.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from aiokafka.helpers import create_ssl_context
from faust.types.auth import CredentialsT

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PREFIX = "WIREWATCH_KAFKA_"


class SaslBytesRedactor(logging.Filter):
    """aiokafka logs each request at DEBUG, and SASL/PLAIN's ``SaslAuthenticateRequest``
    carries the password in ``sasl_auth_bytes``: keep the line, drop the bytes."""

    FIELD = "sasl_auth_bytes="

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.FIELD in message:
            record.msg = message.split(self.FIELD, 1)[0] + self.FIELD + "<redacted>)"
            record.args = ()
        return True


# Every Wirewatch process imports this module (through streams.settings).
logging.getLogger("aiokafka.conn").addFilter(SaslBytesRedactor())


class KafkaSecurityError(SystemExit):
    """Invalid Kafka security settings; ``problems`` lists every one, without secrets."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid Kafka security settings:\n  " + "\n  ".join(problems))


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """``protocol`` is Kafka's ``security.protocol``; the SASL fields are set with the
    SASL protocols only, the TLS files with the SSL ones. ``password`` is kept out of
    ``repr`` so that no log line or traceback of a settings object shows it."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSecurity:
        """Read and check the ``WIREWATCH_KAFKA_*`` variables; raise
        ``KafkaSecurityError`` listing every problem."""

        def get(name: str) -> str | None:
            return (env.get(PREFIX + name) or "").strip() or None

        problems: list[str] = []
        protocol = (get("SECURITY_PROTOCOL") or "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            problems.append(f"{PREFIX}SECURITY_PROTOCOL={protocol!r}: "
                            f"must be one of {', '.join(PROTOCOLS)}")
            protocol = "PLAINTEXT"
        sasl = protocol.startswith("SASL_")
        tls = protocol in ("SSL", "SASL_SSL")

        mechanism = get("SASL_MECHANISM")
        mechanism = mechanism.upper() if mechanism else None
        username = get("SASL_USERNAME")
        password, password_problem = _password(env)
        if password_problem:
            problems.append(password_problem)
        if sasl:
            if mechanism is None:
                problems.append(f"{PREFIX}SASL_MECHANISM: required with {protocol} "
                                f"(one of {', '.join(MECHANISMS)})")
            elif mechanism not in MECHANISMS:
                problems.append(f"{PREFIX}SASL_MECHANISM={mechanism!r}: "
                                f"must be one of {', '.join(MECHANISMS)}")
            if username is None:
                problems.append(f"{PREFIX}SASL_USERNAME: required with {protocol}")
            if password is None and not password_problem:
                problems.append(f"{PREFIX}SASL_PASSWORD or {PREFIX}SASL_PASSWORD_FILE: "
                                f"required with {protocol}")
        else:
            given = [name for name in ("SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD",
                                       "SASL_PASSWORD_FILE") if get(name)]
            problems += [f"{PREFIX}{name}: only used with SECURITY_PROTOCOL SASL_PLAINTEXT "
                         f"or SASL_SSL, not {protocol}" for name in given]

        files: dict[str, Path | None] = {}
        for name in ("SSL_CAFILE", "SSL_CERTFILE", "SSL_KEYFILE"):
            value = get(name)
            files[name] = Path(value) if value else None
            if value and not tls:
                problems.append(f"{PREFIX}{name}: only used with SECURITY_PROTOCOL SSL or "
                                f"SASL_SSL, not {protocol}")
            elif value and not Path(value).is_file():
                problems.append(f"{PREFIX}{name}={value}: no such file")
        if files["SSL_KEYFILE"] and not files["SSL_CERTFILE"]:
            problems.append(f"{PREFIX}SSL_KEYFILE: needs {PREFIX}SSL_CERTFILE (the client "
                            "certificate it belongs to)")

        security = cls(protocol, mechanism if sasl else None, username if sasl else None,
                       password if sasl else None, files["SSL_CAFILE"],
                       files["SSL_CERTFILE"], files["SSL_KEYFILE"])
        if not problems and tls:
            try:
                security.ssl_context()
            except (ssl.SSLError, OSError, ValueError) as exc:
                problems.append(f"{PREFIX}SSL_*: cannot load the TLS files "
                                f"({type(exc).__name__}: {exc})")
        if problems:
            raise KafkaSecurityError(problems)
        return security

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (system CAs unless ``cafile``; hostname checked), or None."""
        if not self.uses_tls:
            return None
        return create_ssl_context(
            cafile=str(self.cafile) if self.cafile else None,
            certfile=str(self.certfile) if self.certfile else None,
            keyfile=str(self.keyfile) if self.keyfile else None,
        )

    def faust_credentials(self) -> CredentialsT | None:
        """Faust's ``broker_credentials``: Faust turns them into the same aiokafka options
        for its consumer, producer and topic creation."""
        if self.uses_sasl:
            return faust.SASLCredentials(username=self.username, password=self.password,
                                         mechanism=self.mechanism,
                                         ssl_context=self.ssl_context())
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for an aiokafka consumer, producer or admin client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                           sasl_plain_password=self.password)
        return options


def _password(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The SASL password from ``_SASL_PASSWORD`` or ``_SASL_PASSWORD_FILE`` (its first
    line), and a problem; neither ever contains the password."""
    inline = env.get(PREFIX + "SASL_PASSWORD") or None
    path = (env.get(PREFIX + "SASL_PASSWORD_FILE") or "").strip() or None
    if inline and path:
        return None, (f"{PREFIX}SASL_PASSWORD and {PREFIX}SASL_PASSWORD_FILE: "
                      "set one, not both")
    if path is None:
        return inline, None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return None, f"{PREFIX}SASL_PASSWORD_FILE={path}: cannot read ({reason})"
    lines = text.splitlines()
    if not lines or not lines[0]:
        return None, f"{PREFIX}SASL_PASSWORD_FILE={path}: empty first line"
    return lines[0], None
