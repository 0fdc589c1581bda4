"""docker-compose.yml, checked by Debian's docker-compose (no Docker engine needed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath

import pytest
import yaml

from agents.alerts.rules import load_rules
from streams.config import load_config
from streams.topics import TOPICS

from .dashboard_exprs import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
CREATE_TOPICS = REPO / "deploy" / "compose" / "create-topics.sh"
TOPICS_FILE = REPO / "deploy" / "compose" / "topics.txt"

#: The topics Wirewatch owns, from streams/topics.py; Faust makes its own changelogs.
DATA_TOPICS = [f"wirewatch.{spec.suffix}" for spec, _ in TOPICS if spec.partitions is None]
RULES_TOPIC = "wirewatch.rules"
GRAFANA_PASSWORD = "a-test-password"
CANDIDATES_TOPIC = "wirewatch.alert-candidates"
DESK_STATE_TOPIC = "wirewatch.desk-state"


def run_compose_config(**env: str) -> subprocess.CompletedProcess:
    """``docker-compose config`` with ``env`` on top of the environment, Grafana's password
    variable removed unless given."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose missing: apt-get install docker-compose (deploy/apt-packages.txt)"
        )
    base = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env={**base, **env},
    )


@cache
def compose_config() -> dict:
    """The file as docker-compose resolves it (validated against the compose schema)."""
    result = run_compose_config(GRAFANA_ADMIN_PASSWORD=GRAFANA_PASSWORD)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def service(name: str) -> dict:
    return compose_config()["services"][name]


def published_ports(name: str) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port; the address is
    "" when the port is published on every interface. Reads both forms docker-compose
    prints: "127.0.0.1:3000:3000/tcp" (1.x) and {host_ip, published, target} (2.x)."""
    ports = []
    for port in service(name).get("ports", []):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
            continue
        *host, published, target = str(port).split("/")[0].split(":")
        ports.append((host[0] if host else "", int(published), int(target)))
    return ports


def bind_mounts(name: str) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts (named volumes skipped)."""
    mounts = {}
    for volume in service(name).get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("/"):
            mounts[target] = Path(source)
    return mounts


def host_path(name: str, container_path: str) -> Path:
    """The host file behind ``container_path`` inside service ``name``."""
    wanted = PurePosixPath(container_path)
    for target, source in bind_mounts(name).items():
        if wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents:
            return source / wanted.relative_to(target)
    raise AssertionError(f"{name}: nothing mounted at {container_path}")


def kafka_version() -> str:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert match, "deploy/kafka/pom.xml: no <kafka.version>"
    return match.group(1)


def test_rules_are_published_once_topics_exist():
    rules = service("rules")
    assert rules["command"] == ["wirewatch", "rules", "apply"]
    assert rules["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert rules["environment"]["WIREWATCH_CONFIG"] == "/etc/wirewatch/wirewatch.yaml"


def test_services():
    assert set(compose_config()["services"]) == {
        "kafka",
        "topics",
        "rules",
        "worker",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_kafka_is_the_tested_version_in_kraft_mode():
    image = f"apache/kafka:{kafka_version()}"
    assert service("kafka")["image"] == image
    assert service("topics")["image"] == image
    env = service("kafka")["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert not [key for key in env if "ZOOKEEPER" in key]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]


@pytest.mark.parametrize("name", ["kafka", "topics", "worker", "prometheus", "alertmanager",
                                  "grafana"])
def test_every_bind_mount_exists(name):
    for target, source in bind_mounts(name).items():
        assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
        assert REPO in source.parents, f"{name}: {source} is outside the repository"


def test_worker_scales():
    worker = service("worker")
    assert "container_name" not in worker
    assert "ports" not in worker, "a published port would clash between replicas"
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert Path(worker["build"]["context"], worker["build"]["dockerfile"]) == DOCKERFILE


def test_worker_config_is_mounted_and_valid():
    env = service("worker")["environment"]
    assert env["WIREWATCH_BROKER"] == "kafka://kafka:9092"
    path = host_path("worker", env["WIREWATCH_CONFIG"])
    config = load_config(path)
    assert config.feeds, f"{path}: no feeds"
    assert load_rules(config.rules, source=str(path))
    assert config.polling.block_private_addresses  # real feeds are never on a private network


def test_prometheus_scrapes_every_worker_on_its_web_port():
    prometheus = service("prometheus")
    config_path = host_path("prometheus", "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "wirewatch"]
    (dns,) = job["dns_sd_configs"]
    assert dns["names"] == ["worker"] and dns["type"] == "A"
    assert str(dns["port"]) == str(service("worker")["environment"]["WIREWATCH_WEB_PORT"])
    # rule_files are relative to the config file: they must land on the mounted rules.
    for pattern in config["rule_files"]:
        container_glob = PurePosixPath("/etc/prometheus") / pattern
        rules_dir = host_path("prometheus", str(container_glob.parent))
        assert list(rules_dir.glob(container_glob.name)), f"{pattern} matches no rules file"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_prometheus_alerts_go_to_a_valid_alertmanager_on_localhost():
    config_path = host_path("prometheus", "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    (target,) = [t for am in config["alerting"]["alertmanagers"]
                 for static in am["static_configs"] for t in static["targets"]]
    assert target == "alertmanager:9093"
    alertmanager = service("alertmanager")
    assert alertmanager["image"] == f"prom/alertmanager:v{debian_alertmanager_version()}"
    assert alertmanager["ports"] == ["127.0.0.1:9093:9093/tcp"]  # not open to the network
    am_config = host_path("alertmanager", "/etc/alertmanager/alertmanager.yml")
    assert f"--config.file={PurePosixPath('/etc/alertmanager/alertmanager.yml')}" in \
        alertmanager["command"]
    checked = subprocess.run(["amtool", "check-config", str(am_config)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def debian_alertmanager_version() -> str:
    """The version of Debian's prometheus-alertmanager, which the integration tests run."""
    out = subprocess.run(["prometheus-alertmanager", "--version"], capture_output=True,
                         text=True, timeout=60)
    return (out.stdout + out.stderr).split("version ", 1)[1].split()[0]


def test_grafana_serves_the_provisioned_dashboards_on_3000():
    grafana = service("grafana")
    assert [(published, target) for _, published, target in published_ports("grafana")] == [
        (3000, 3000)]
    provider_file = host_path("grafana", "/etc/grafana/provisioning/dashboards/dashboards.yml")
    (provider,) = yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]
    dashboards = host_path("grafana", provider["options"]["path"])
    assert sorted(p.name for p in dashboards.glob("*.json")) == ["overview.json", "pipeline.json"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path("grafana", home).is_file()
    assert host_path("grafana", "/etc/grafana/provisioning/datasources/prometheus.yml").is_file()


def test_every_published_port_listens_on_loopback_only():
    published = {name: published_ports(name) for name in compose_config()["services"]}
    assert {name for name, ports in published.items() if ports} >= {"kafka", "prometheus",
                                                                    "grafana"}
    for name, ports in published.items():
        for host, port, _ in ports:
            assert host == "127.0.0.1", f"{name}: port {port} is published on {host or 'all'}"


def test_grafana_admin_password_comes_from_the_environment_and_is_required():
    env = service("grafana")["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == GRAFANA_PASSWORD
    missing = run_compose_config()
    assert missing.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD" in missing.stderr
    empty = run_compose_config(GRAFANA_ADMIN_PASSWORD="")
    assert empty.returncode != 0, "an empty password must be refused too"


def test_worker_web_port_is_open_inside_the_container_only():
    """Outside containers the worker binds 127.0.0.1; in the image it binds every
    interface so Prometheus can scrape it over the compose network, unpublished."""
    assert service("worker")["environment"]["WIREWATCH_WEB_BIND"] == "0.0.0.0"
    assert "WIREWATCH_WEB_BIND=0.0.0.0" in DOCKERFILE.read_text(encoding="utf-8")
    assert published_ports("worker") == []


def run_create_topics(tmp_path: Path, partitions: str, **env: str) -> list[list[str]]:
    """Run the topic script against a stub kafka-topics.sh; return each call's arguments."""
    log = tmp_path / "calls"
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n', encoding="utf-8")
    stub.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BIN": str(tmp_path), "WIREWATCH_PARTITIONS": partitions,
           **env}
    subprocess.run(["sh", str(CREATE_TOPICS)], env=env, check=True, timeout=30)
    return [line.split() for line in log.read_text(encoding="utf-8").splitlines()]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_create_topics_sizes_partitions_for_scaled_workers(tmp_path):
    partitions = str(service("topics")["environment"]["WIREWATCH_PARTITIONS"])
    assert partitions == str(service("worker")["environment"]["WIREWATCH_PARTITIONS"])
    assert int(partitions) >= 3, "--scale worker=3 needs at least 3 partitions"
    calls = [args for args in run_create_topics(tmp_path, partitions) if "--create" in args]
    created = {option(args, "--topic"): args for args in calls}
    assert sorted(created) == sorted([*DATA_TOPICS, RULES_TOPIC, CANDIDATES_TOPIC,
                                      DESK_STATE_TOPIC])
    assert option(created[CANDIDATES_TOPIC], "--partitions") == "1"
    for topic in DATA_TOPICS:
        assert option(created[topic], "--partitions") == partitions, topic
        assert "--if-not-exists" in created[topic]
    for compacted in (created[RULES_TOPIC], created[DESK_STATE_TOPIC]):
        assert option(compacted, "--partitions") == "1"
        assert option(compacted, "--config") == "cleanup.policy=compact"
    rules = created[RULES_TOPIC]
    assert option(rules, "--bootstrap-server") == "kafka:9092"


def test_topics_file_is_generated_from_streams_topics():
    """deploy/compose/topics.txt is the output of `wirewatch topics list --relative`."""
    result = subprocess.run([sys.executable, "-m", "streams", "topics", "list", "--relative"],
                            capture_output=True, text=True, timeout=120, check=True, cwd=REPO)
    assert TOPICS_FILE.read_text(encoding="utf-8") == result.stdout, (
        "deploy/compose/topics.txt is stale: wirewatch topics list --relative > "
        "deploy/compose/topics.txt")
    assert host_path("topics", service("topics")["environment"]["TOPICS_FILE"]) == TOPICS_FILE


def test_create_topics_honours_the_namespace(tmp_path):
    calls = run_create_topics(tmp_path, "3", WIREWATCH_NAMESPACE="team-b")
    created = {option(args, "--topic") for args in calls if "--create" in args}
    assert created == {f"team-b.{spec.suffix}" for spec, _ in TOPICS}


def test_dockerfile_builds_from_existing_files_and_runs_the_worker():
    text = DOCKERFILE.read_text(encoding="utf-8")
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.MULTILINE):
        *sources, _ = line.split()
        for source in sources:
            assert (REPO / source).exists(), f"deploy/Dockerfile: COPY {source}: no such path"
    assert 'CMD ["wirewatch", "worker"]' in text
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "wirewatch" in scripts["scripts"]
    port = service("worker")["environment"]["WIREWATCH_WEB_PORT"]
    assert re.search(rf"^EXPOSE {port}$", text, flags=re.MULTILINE)


def test_the_package_ships_every_classifier_data_file():
    """The image installs the wheel: a data file left out of package-data would make the saved
    topic model look stale (or the gazetteer fail) in the container."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["agents.classify"]
    data = REPO / "agents" / "classify"
    files = [p.relative_to(data).as_posix() for p in (data / "data").rglob("*") if p.is_file()]
    assert any(f.endswith("topic_model.npz") for f in files)
    missing = [f for f in files if not any(PurePosixPath(f).match(g) for g in globs)]
    assert missing == []
