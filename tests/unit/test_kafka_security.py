"""WIREWATCH_KAFKA_* settings: validation, what Faust and aiokafka get, no secret echoed."""

from __future__ import annotations

import ssl
import subprocess
import sys

import faust
import pytest
import trustme

from streams.kafka_security import KafkaSecurity, KafkaSecurityError
from streams.settings import Settings

SECRET = "s3cr3t-Pa55word"
P = "WIREWATCH_KAFKA_"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def sasl_env(**extra: str) -> dict[str, str]:
    return {f"{P}SECURITY_PROTOCOL": "SASL_PLAINTEXT", f"{P}SASL_MECHANISM": "SCRAM-SHA-512",
            f"{P}SASL_USERNAME": "wirewatch", f"{P}SASL_PASSWORD": SECRET, **extra}


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(KafkaSecurityError) as info:
        KafkaSecurity.from_env(env)
    assert SECRET not in str(info.value)
    return info.value.problems


def test_default_is_plaintext_with_no_credentials():
    security = KafkaSecurity.from_env({})
    assert security.client_options() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None


def test_sasl_ssl_with_scram_reaches_faust_and_aiokafka(ca_file):
    security = KafkaSecurity.from_env(sasl_env(**{f"{P}SECURITY_PROTOCOL": "sasl_ssl",
                                                  f"{P}SSL_CAFILE": ca_file}))
    options = security.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("wirewatch",
                                                                               SECRET)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = security.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.password == SECRET
    assert SECRET not in repr(security) and SECRET not in repr(credentials)


def test_ssl_only_gives_faust_ssl_credentials(ca_file):
    security = KafkaSecurity.from_env({f"{P}SECURITY_PROTOCOL": "SSL",
                                       f"{P}SSL_CAFILE": ca_file})
    assert isinstance(security.faust_credentials(), faust.SSLCredentials)
    assert security.client_options()["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in security.client_options()


def test_password_from_a_file(tmp_path):
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    env = sasl_env(**{f"{P}SASL_PASSWORD_FILE": str(secret_file)})
    del env[f"{P}SASL_PASSWORD"]
    assert KafkaSecurity.from_env(env).password == SECRET


@pytest.mark.parametrize(("env", "expected"), [
    ({f"{P}SECURITY_PROTOCOL": "TLS"}, "SECURITY_PROTOCOL='TLS': must be one of"),
    (sasl_env(**{f"{P}SASL_MECHANISM": "GSSAPI"}), "SASL_MECHANISM='GSSAPI': must be one of"),
    ({f"{P}SECURITY_PROTOCOL": "SASL_SSL"}, "SASL_MECHANISM: required with SASL_SSL"),
    ({f"{P}SECURITY_PROTOCOL": "SASL_SSL"}, "SASL_USERNAME: required with SASL_SSL"),
    ({f"{P}SECURITY_PROTOCOL": "SASL_SSL"}, "SASL_PASSWORD_FILE: required with SASL_SSL"),
    ({f"{P}SASL_PASSWORD": SECRET}, "SASL_PASSWORD: only used with SECURITY_PROTOCOL"),
    (sasl_env(**{f"{P}SASL_PASSWORD_FILE": "/nonexistent/pw"}), "set one, not both"),
    ({**sasl_env(), f"{P}SSL_CAFILE": "/etc/hostname"}, "SSL_CAFILE: only used with"),
    ({f"{P}SECURITY_PROTOCOL": "SSL", f"{P}SSL_CAFILE": "/nonexistent/ca.pem"},
     "SSL_CAFILE=/nonexistent/ca.pem: no such file"),
    ({f"{P}SECURITY_PROTOCOL": "SSL", f"{P}SSL_KEYFILE": "/etc/hostname"},
     "SSL_KEYFILE: needs WIREWATCH_KAFKA_SSL_CERTFILE"),
    ({f"{P}SECURITY_PROTOCOL": "SSL", f"{P}SSL_CAFILE": "/etc/hostname"},
     "cannot load the TLS files"),
])
def test_invalid_settings_are_named_and_never_echo_the_password(env, expected):
    found = problems(env)
    assert any(expected in problem for problem in found), found


def test_unreadable_password_file_is_named(tmp_path):
    env = sasl_env(**{f"{P}SASL_PASSWORD_FILE": str(tmp_path / "missing")})
    del env[f"{P}SASL_PASSWORD"]
    assert problems(env) == [f"{P}SASL_PASSWORD_FILE={tmp_path / 'missing'}: cannot read "
                             "(No such file or directory)"]


def test_every_problem_is_reported_at_once():
    env = sasl_env(**{f"{P}SASL_MECHANISM": "MD5", f"{P}SSL_CAFILE": "/x"})
    del env[f"{P}SASL_USERNAME"]
    assert len(problems(env)) == 3


def test_settings_carry_the_client_options_for_every_aiokafka_client(monkeypatch):
    for name, value in sasl_env(**{"WIREWATCH_BROKER": "kafka://k1:9093;kafka://k2:9093"}
                                ).items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    options = settings.kafka_client_options
    assert options["bootstrap_servers"] == ["k1:9093", "k2:9093"]
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_plain_password"] == SECRET
    assert SECRET not in repr(settings)


def test_web_bind_defaults_to_loopback(monkeypatch):
    monkeypatch.delenv("WIREWATCH_WEB_BIND", raising=False)
    assert Settings.from_env().web_bind == "127.0.0.1"
    monkeypatch.setenv("WIREWATCH_WEB_BIND", "0.0.0.0")
    assert Settings.from_env().web_bind == "0.0.0.0"
    monkeypatch.setenv("WIREWATCH_WEB_BIND", "everywhere")
    with pytest.raises(SystemExit, match="WIREWATCH_WEB_BIND='everywhere': not an IP"):
        Settings.from_env()


def test_kafka_transactions_are_on_unless_switched_off(monkeypatch):
    monkeypatch.delenv("WIREWATCH_KAFKA_TRANSACTIONS", raising=False)
    assert Settings.from_env().kafka_transactions is True
    monkeypatch.setenv("WIREWATCH_KAFKA_TRANSACTIONS", "off")
    assert Settings.from_env().kafka_transactions is False
    monkeypatch.setenv("WIREWATCH_KAFKA_TRANSACTIONS", "maybe")
    with pytest.raises(SystemExit, match="WIREWATCH_KAFKA_TRANSACTIONS='maybe': not on or off"):
        Settings.from_env()


def test_credentials_in_the_broker_url_are_refused_without_echo(monkeypatch):
    monkeypatch.setenv("WIREWATCH_BROKER", f"kafka://wirewatch:{SECRET}@k1:9093")
    with pytest.raises(SystemExit) as info:
        Settings.from_env()
    assert "WIREWATCH_BROKER: credentials in the URL" in str(info.value)
    assert SECRET not in str(info.value)


def test_a_worker_with_bad_settings_exits_with_the_problem_and_not_the_password(tmp_path):
    """Through the real command: the process exits 1, stderr names the variable."""
    env = {"PATH": "/usr/bin:/bin", "WIREWATCH_CONFIG": str(tmp_path / "none.yaml"),
           **sasl_env(**{f"{P}SASL_MECHANISM": "SCRAM-SHA-1"})}
    result = subprocess.run([sys.executable, "-m", "streams", "worker"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert f"{P}SASL_MECHANISM='SCRAM-SHA-1': must be one of" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_run_refuses_security_settings_for_the_plaintext_embedded_broker(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WIREWATCH_CONFIG": str(tmp_path / "none.yaml"),
           f"{P}SECURITY_PROTOCOL": "SSL"}
    result = subprocess.run([sys.executable, "-m", "streams", "run"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert f"{P}SECURITY_PROTOCOL: set, but the embedded broker is plaintext only" in (
        result.stderr)


def test_client_certificate_for_mutual_tls_is_loaded(tmp_path, ca_file):
    ca = trustme.CA()
    client = ca.issue_cert("wirewatch-client")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    env = {f"{P}SECURITY_PROTOCOL": "SSL", f"{P}SSL_CAFILE": ca_file,
           f"{P}SSL_CERTFILE": str(cert), f"{P}SSL_KEYFILE": str(key)}
    assert isinstance(KafkaSecurity.from_env(env).ssl_context(), ssl.SSLContext)
    other_key = tmp_path / "other.key"
    ca.issue_cert("someone-else").private_key_pem.write_to_path(str(other_key))
    found = problems({**env, f"{P}SSL_KEYFILE": str(other_key)})
    assert len(found) == 1 and "cannot load the TLS files" in found[0], found
