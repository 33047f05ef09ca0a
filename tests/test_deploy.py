"""Deployment artefacts: container image, Compose stack, Kubernetes, systemd, packaging, docs.

Every artefact is checked with the real tool where one runs offline on these machines
(kubectl kustomize, kubernetes-validate, promtool, prometheus, systemd-analyze, pip and venv),
and statically where none does: there is no Docker engine here, so the Dockerfile and Compose
files are parsed and cross-checked against the repository. The image itself is built with podman
and run by tests/test_image.py.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from exporter.config.section import parse_duration
from tests.helpers import wait_until
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
K8S_BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "probe-sharding"
COMPOSE = DEPLOY / "compose"
RULES_DIR = DEPLOY / "prometheus" / "rules"
DOCKERFILE = DEPLOY / "Dockerfile"
SYSTEMD_UNIT = DEPLOY / "systemd" / "trunk-capacity-exporter.service"
SYSTEMD_CONFIG = DEPLOY / "systemd" / "config.example.yml"
EXAMPLE_CONFIG = DEPLOY / "config.example.yml"
DEPLOY_DOC = ROOT / "docs" / "deployment.md"

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
CONSOLE_SCRIPT = "trunk-capacity-exporter"
PORT = 10042
HEALTH_PATH = "/-/healthy"
CONFIG_PATH = "/etc/trunk-capacity-exporter/config.yml"
OPERATOR_GROUP = "monitoring.coreos.com"


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("timeout", 120)
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def require_tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed, so {why} cannot be checked here")
    return path


def seconds(duration: str) -> float:
    value = parse_duration(duration)
    assert value is not None, f"not a duration: {duration!r}"
    return value


def prometheus_hashmod(value: str, modulus: int) -> int:
    """Prometheus' relabel `hashmod`: the low 64 bits of the MD5 of the value, big-endian."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on, held (bound, never listening) until the end."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Kubernetes


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = require_tool("kubectl", "the kustomize rendering")
    result = run([kubectl, "kustomize", str(directory)])
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def objects_of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = objects_of(objects, kind)
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize(K8S)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return kustomize(OVERLAY)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    workloads = objects_of(objects, "Deployment") + objects_of(objects, "StatefulSet")
    assert len(workloads) == 1
    return workloads[0]["spec"]["template"]["spec"]


def configmap_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(one(objects, "ConfigMap")["data"]["config.yml"])


def config_targets(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [*config.get("odin", []), *config.get("didww", [])]


def test_kustomize_renders_the_base(base: list[dict[str, Any]]) -> None:
    kinds = sorted(obj["kind"] for obj in base)
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "Service", "ServiceMonitor", "PrometheusRule"]
    )
    for obj in base:
        assert obj["metadata"]["namespace"] == "monitoring", obj["kind"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == CONSOLE_SCRIPT


def test_kustomize_renders_the_probe_sharding_overlay(overlay: list[dict[str, Any]]) -> None:
    kinds = sorted(obj["kind"] for obj in overlay)
    # The Deployment became a StatefulSet; the ServiceMonitor (every target from every
    # replica) gave way to a Probe; a headless Service was added.
    assert kinds == sorted(
        ["ConfigMap", "StatefulSet", "Service", "Service", "Probe", "PrometheusRule"]
    )
    for obj in overlay:
        assert obj["metadata"]["namespace"] == "monitoring", obj["kind"]


def secret_example() -> dict[str, Any]:
    return yaml.safe_load((K8S / "secret.example.yaml").read_text(encoding="utf-8"))


# The oldest and the newest Kubernetes schema the installed kubernetes-validate bundles.
SCHEMA_VERSIONS = [all_versions()[0], all_versions()[-1]]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("source", ["base", "overlay", "secret-example"])
def test_builtin_objects_pass_strict_schema_validation(
    source: str, version: str, request: pytest.FixtureRequest
) -> None:
    objects = [secret_example()] if source == "secret-example" else request.getfixturevalue(source)
    expected = {
        "base": {"ConfigMap", "Deployment", "Service"},
        "overlay": {"ConfigMap", "StatefulSet", "Service"},
        "secret-example": {"Secret"},
    }[source]
    validated = set()
    for obj in objects:
        if obj["apiVersion"].startswith(OPERATOR_GROUP + "/"):
            continue  # no bundled schema for CRDs: checked field by field below
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']} ({version}): {path}: {error.message}"
            )
        validated.add(obj["kind"])
    assert validated == expected


def test_strict_validation_rejects_an_unknown_field(base: list[dict[str, Any]]) -> None:
    """The validation above would catch a misspelt field (strict mode is really in effect)."""
    deployment = copy.deepcopy(one(base, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[-1], strict=True)


def test_deployment_runs_hardened(base: list[dict[str, Any]]) -> None:
    spec = pod_spec(base)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind


def test_deployment_probes_and_serves_on_the_exporter_port(base: list[dict[str, Any]]) -> None:
    (container,) = pod_spec(base)["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": PORT}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH_PATH, probe
        assert ports.get(get["port"], get["port"]) == PORT, probe
    assert f"--config.file={CONFIG_PATH}" in container["args"]
    assert f"--web.listen-address=:{PORT}" in container["args"]
    assert container["image"].endswith(f":{VERSION}"), "keep the image tag with pyproject.toml"
    service = one(base, "Service")
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == PORT
    assert service_port["targetPort"] == "http"
    template_labels = one(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= template_labels.items()


def test_config_comes_from_a_hashed_configmap_mounted_at_the_config_path(
    base: list[dict[str, Any]],
) -> None:
    spec = pod_spec(base)
    configmap = one(base, "ConfigMap")
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    (container,) = spec["containers"]
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    config_volume = next(v for v in volumes.values() if "configMap" in v)
    assert config_volume["configMap"]["name"] == configmap["metadata"]["name"]
    # The generator's content hash suffix is what makes a config change roll the pod.
    assert re.fullmatch(
        r"trunk-capacity-exporter-config-[a-z0-9]{10}", configmap["metadata"]["name"]
    )
    mount = mounts[config_volume["name"]]
    assert mount["readOnly"] is True
    assert str(PurePosixPath(mount["mountPath"]) / "config.yml") == CONFIG_PATH
    assert set(configmap["data"]) == {"config.yml"}


def test_a_config_change_rolls_the_pod(base: list[dict[str, Any]], tmp_path: Path) -> None:
    changed = tmp_path / "base"
    shutil.copytree(K8S_BASE, changed)
    config = changed / "config.yml"
    config.write_text(config.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    rendered = kustomize(changed)
    old_name = one(base, "ConfigMap")["metadata"]["name"]
    new_name = one(rendered, "ConfigMap")["metadata"]["name"]
    assert new_name != old_name
    old_template = one(base, "Deployment")["spec"]["template"]
    new_template = one(rendered, "Deployment")["spec"]["template"]
    assert json.dumps(old_template).count(old_name) == 1
    assert json.dumps(new_template).count(new_name) == 1
    assert new_template != old_template


def secret_file_references(config: dict[str, Any]) -> set[str]:
    return {
        value
        for target in config_targets(config)
        for key, value in target.items()
        if key.endswith("_file") and key != "ca_file"
    }


@pytest.mark.parametrize("source", ["base", "overlay"])
def test_credentials_are_secret_files_the_config_refers_to(
    source: str, request: pytest.FixtureRequest
) -> None:
    objects = request.getfixturevalue(source)
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    secret = secret_example()
    (volume,) = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    references = secret_file_references(configmap_config(objects))
    assert references, "the config should read its credentials from files"
    assert {str(PurePosixPath(path).parent) for path in references} == {mount["mountPath"]}
    assert {PurePosixPath(path).name for path in references} == set(secret["stringData"])
    for key, value in secret["stringData"].items():
        assert value.startswith("REPLACE-"), f"{key} should hold a placeholder"
    assert "env" not in container and "envFrom" not in container


def check_scrape_timing(interval: str, scrape_timeout: str, config: dict[str, Any]) -> None:
    """Prometheus sends its scrape timeout; the exporter's deadline is that minus an offset.
    Every target's per-request `timeout` must fit inside the deadline, the timeout inside the
    interval, and `min_interval` below the interval (each interval then fetches fresh data)."""
    from exporter.cli import build_parser

    offset = build_parser().get_default("timeout_offset")
    deadline = seconds(scrape_timeout) - offset
    assert seconds(scrape_timeout) <= seconds(interval)
    for target in config_targets(config):
        request_timeout = seconds(target.get("timeout", "10s"))
        assert request_timeout < deadline, f"{target['name']}: timeout {request_timeout}s"
        assert seconds(target.get("min_interval", "0s")) < seconds(interval), target["name"]


def test_servicemonitor_has_its_required_fields_and_fits_the_deadline(
    base: list[dict[str, Any]],
) -> None:
    monitor = one(base, "ServiceMonitor")
    assert monitor["apiVersion"] == f"{OPERATOR_GROUP}/v1"
    assert monitor["metadata"]["name"]
    spec = monitor["spec"]
    service = one(base, "Service")
    # `selector` is the one required field of the spec; it must select our Service.
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] in service_ports
    assert endpoint["path"] == "/metrics"
    check_scrape_timing(endpoint["interval"], endpoint["scrapeTimeout"], configmap_config(base))


def rule_file_groups() -> list[dict[str, Any]]:
    files = sorted(RULES_DIR.glob("*.yml"))
    if not files:
        pytest.fail(
            f"no rule files in {RULES_DIR.relative_to(ROOT)}: the PrometheusRule is generated "
            "from them (make mixin)"
        )
    groups = []
    for path in files:
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return groups


def test_prometheusrule_has_its_required_fields(base: list[dict[str, Any]]) -> None:
    rule = one(base, "PrometheusRule")
    assert rule["apiVersion"] == f"{OPERATOR_GROUP}/v1"
    assert rule["metadata"]["name"]
    groups = rule["spec"]["groups"]
    assert groups
    names = [group["name"] for group in groups]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in groups:
        assert group["rules"], group["name"]
        for item in group["rules"]:
            assert isinstance(item["expr"], str) and item["expr"].strip()
            assert ("alert" in item) != ("record" in item), item


def test_prometheusrule_is_generated_from_the_rule_files(
    base: list[dict[str, Any]], processes: Processes
) -> None:
    expected = rule_file_groups()
    assert one(base, "PrometheusRule")["spec"]["groups"] == expected, (
        "deploy/kubernetes differs from deploy/prometheus/rules: run make mixin"
    )
    generator = processes.run(
        [sys.executable, str(ROOT / "scripts" / "generate_prometheusrule.py"), "--check"],
        timeout=120,
    )
    assert generator.returncode == 0, generator.stderr


def test_probe_sharding_overlay_is_consistent(
    base: list[dict[str, Any]], overlay: list[dict[str, Any]]
) -> None:
    probe = one(overlay, "Probe")
    statefulset = one(overlay, "StatefulSet")
    spec = probe["spec"]
    # The Probe's required fields: a prober URL and targets.
    assert spec["prober"]["url"]
    assert spec["prober"]["path"] == "/probe"
    static = spec["targets"]["staticConfig"]["static"]
    config = configmap_config(overlay)
    assert sorted(static) == sorted(target["name"] for target in config_targets(config))
    check_scrape_timing(spec["interval"], spec["scrapeTimeout"], config)

    hashmod, address = spec["targets"]["staticConfig"]["relabelingConfigs"]
    assert hashmod["action"] == "hashmod"
    assert hashmod["sourceLabels"] == ["__param_target"]
    replicas = statefulset["spec"]["replicas"]
    assert hashmod["modulus"] == replicas > 1
    assert address["sourceLabels"] == [hashmod["targetLabel"]]
    assert address["targetLabel"] == "__address__"
    (headless,) = [
        s for s in objects_of(overlay, "Service") if s["spec"].get("clusterIP") == "None"
    ]
    assert headless["metadata"]["name"] == statefulset["spec"]["serviceName"]
    namespace = statefulset["metadata"]["namespace"]
    assert address["replacement"] == (
        f"{statefulset['metadata']['name']}-$1.{headless['metadata']['name']}"
        f".{namespace}.svc:{PORT}"
    )
    assert headless["spec"]["selector"].items() <= (
        statefulset["spec"]["template"]["metadata"]["labels"].items()
    )
    # The worked example should show the point of sharding: every replica gets work.
    assert {prometheus_hashmod(name, replicas) for name in static} == set(range(replicas))

    # The StatefulSet is the base's pod template, unchanged but for the config it mounts.
    base_template = json.dumps(one(base, "Deployment")["spec"]["template"])
    base_template = base_template.replace(
        one(base, "ConfigMap")["metadata"]["name"], one(overlay, "ConfigMap")["metadata"]["name"]
    )
    assert json.loads(base_template) == statefulset["spec"]["template"]


def docs_yaml_blocks() -> list[str]:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)


def docs_prometheus_configs() -> list[str]:
    return [block for block in docs_yaml_blocks() if "scrape_configs:" in block]


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def probe_as_scrape_config(probe: dict[str, Any]) -> dict[str, Any]:
    """The scrape config the Prometheus Operator generates for a Probe with static targets:
    __param_target and instance from the target, __address__ from prober.url, then the Probe's
    own relabelingConfigs (pkg/prometheus/promcfg.go, generateProbeConfig)."""
    spec = probe["spec"]
    static = spec["targets"]["staticConfig"]
    return {
        "job_name": "probe",
        "metrics_path": spec["prober"]["path"],
        "static_configs": [{"targets": static["static"]}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": spec["prober"]["url"]},
            *(
                {camel_to_snake(key): value for key, value in item.items()}
                for item in static["relabelingConfigs"]
            ),
        ],
    }


def prometheus_active_targets(
    config: dict[str, Any], tmp_path: Path, processes: Processes
) -> list[dict[str, Any]]:
    """Load a config into a real Prometheus and return its active targets (after relabelling).
    Nothing needs to answer at the scraped addresses: only the targets' URLs are examined."""
    binary = require_tool("prometheus", "the relabelling of the sharding examples")
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    expected = sum(len(job["static_configs"][0]["targets"]) for job in config["scrape_configs"])
    process = processes.start(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            "--web.listen-address=127.0.0.1:0",
        ],
        cwd=tmp_path,
    )
    try:
        url = process.url()  # it binds port 0 and logs where it listens
        process.wait_until_ok(f"{url}/-/ready", timeout=30)

        def all_active() -> list[dict[str, Any]] | None:
            with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=2) as got:
                active = json.loads(got.read())["data"]["activeTargets"]
            return active if len(active) >= expected else None

        return wait_until(all_active, 30, f"{expected} active targets", interval=0.1)
    finally:
        process.stop()


@pytest.mark.slow
def test_sharding_relabelling_sends_each_target_to_its_replica(
    overlay: list[dict[str, Any]], tmp_path: Path, processes: Processes
) -> None:
    """The docs' worked prometheus.yml and the overlay's Probe, loaded into a real Prometheus:
    each target is scraped at /probe?target=NAME on replica hashmod(NAME, N), as instance NAME."""
    (docs_config,) = [
        config
        for config in map(yaml.safe_load, docs_prometheus_configs())
        if "hashmod" in str(config)
    ]
    (docs_job,) = docs_config["scrape_configs"]
    jobs = {"docs": docs_job, "probe": probe_as_scrape_config(one(overlay, "Probe"))}
    for name, job in jobs.items():
        job["job_name"] = name
    config = {"global": docs_config["global"], "scrape_configs": list(jobs.values())}
    active = prometheus_active_targets(config, tmp_path, processes)

    for name, job in jobs.items():
        relabel = job["relabel_configs"]
        shard = next(rule for rule in relabel if rule.get("action") == "hashmod")
        (address,) = [
            rule for rule in relabel if rule.get("source_labels") == [shard["target_label"]]
        ]
        hosts = {}
        for target in (t for t in active if t["scrapePool"] == name):
            url = urlsplit(target["scrapeUrl"])
            (target_name,) = parse_qs(url.query)["target"]
            assert url.path == "/probe"
            assert target["labels"]["instance"] == target_name
            replica = prometheus_hashmod(target_name, shard["modulus"])
            assert url.netloc == address["replacement"].replace("$1", str(replica)), target_name
            hosts[target_name] = url.netloc
        assert sorted(hosts) == sorted(job["static_configs"][0]["targets"]), name
        assert len(set(hosts.values())) == shard["modulus"], f"{name}: a replica gets no target"


# --------------------------------------------------------------------------------------------
# Compose


def load_env_example() -> dict[str, str]:
    values = {}
    for line in (COMPOSE / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, from .env.example."""

    def value(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        assert operator == ":-", f"${{{name}}} has no default and is not in .env.example"
        return default

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", value, text)


def compose_file(name: str) -> dict[str, Any]:
    document = yaml.safe_load((COMPOSE / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict) and document["services"]
    return document


def host_paths(document: dict[str, Any]) -> Iterator[tuple[str, Path]]:
    """Every host path a Compose file refers to: bind mounts, build contexts, secret files."""
    env = load_env_example()
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = interpolate(volume, env).split(":")[0]
            if source.startswith((".", "/")):
                yield f"{name} volume {source}", (COMPOSE / source).resolve()
            else:
                assert source in document.get("volumes", {}), f"undeclared volume {source}"
        if "build" in service:
            context = (COMPOSE / service["build"]["context"]).resolve()
            yield f"{name} build context", context
            yield f"{name} dockerfile", context / service["build"]["dockerfile"]
    for name, secret in document.get("secrets", {}).items():
        yield f"secret {name}", (COMPOSE / interpolate(secret["file"], env)).resolve()


def git_ignored(path: Path) -> bool:
    git = require_tool("git", "whether secret files are kept out of the repository")
    return run([git, "check-ignore", "--quiet", str(path)], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("name", ["compose.yml", "compose.real.yml"])
def test_compose_file_refers_only_to_files_in_the_repo(name: str) -> None:
    paths = list(host_paths(compose_file(name)))
    assert paths
    for what, path in paths:
        assert path.is_relative_to(ROOT), f"{what}: {path} is outside the repository"
        if what.startswith("secret "):
            # Credentials are the user's own files, which must never be committed: they go to
            # deploy/compose/secrets/, which git ignores (and docs/deployment.md says how to fill).
            assert path.is_relative_to(COMPOSE / "secrets"), what
            assert git_ignored(path), f"{what}: {path} is not git-ignored"
        else:
            assert path.exists(), f"{what}: {path} does not exist"


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts."""
    result = {}
    for volume in service.get("volumes", []):
        source, target = interpolate(volume, load_env_example()).split(":")[:2]
        if source.startswith((".", "/")):
            result[target] = (COMPOSE / source).resolve()
    return result


def test_compose_demo_stack_is_wired_together() -> None:
    document = compose_file("compose.yml")
    services = document["services"]
    assert set(services) == {"exporter", "prometheus", "alertmanager", "grafana"}
    assert "--demo" in services["exporter"]["command"]
    assert services["exporter"]["build"]["dockerfile"] == "deploy/Dockerfile"

    prometheus_mounts = mounts(services["prometheus"])
    config = yaml.safe_load((COMPOSE / "prometheus.yml").read_text(encoding="utf-8"))
    assert prometheus_mounts["/etc/prometheus/prometheus.yml"] == COMPOSE / "prometheus.yml"
    # Every shipped rule file is loaded, through the mount of deploy/prometheus/rules.
    loaded = set()
    for pattern in config["rule_files"]:
        directory, glob = pattern.rsplit("/", 1)
        loaded |= set(prometheus_mounts[directory].glob(glob))
    assert loaded == set(RULES_DIR.glob("*.yml")) != set()

    scraped = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert f"exporter:{PORT}" in scraped
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    alertmanager_mounts = mounts(services["alertmanager"])
    alertmanager = yaml.safe_load(
        alertmanager_mounts["/etc/alertmanager/alertmanager.yml"].read_text()
    )
    receivers = {receiver["name"] for receiver in alertmanager["receivers"]}
    assert alertmanager["route"]["receiver"] in receivers


def test_compose_grafana_is_provisioned_with_the_shipped_files() -> None:
    grafana = compose_file("compose.yml")["services"]["grafana"]
    grafana_mounts = mounts(grafana)
    provisioning = grafana_mounts["/etc/grafana/provisioning"]
    assert provisioning == ROOT / "grafana" / "provisioning"
    for kind in ("datasources", "dashboards"):
        files = sorted((provisioning / kind).glob("*.y*ml"))
        assert files, f"no provisioning files in grafana/provisioning/{kind}"

    def container_to_host(path: str) -> Path:
        for target, source in grafana_mounts.items():
            if path == target or path.startswith(target + "/"):
                return source / os.path.relpath(path, target)
        pytest.fail(f"Grafana reads {path}, which compose.yml does not mount")

    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]
    ]
    assert providers
    for provider in providers:
        directory = container_to_host(provider["options"]["path"])
        assert sorted(directory.glob("*.json")), f"no dashboards in {directory}"

    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]
    ]
    environment = grafana.get("environment", {})
    urls = {
        re.sub(r"\$\{?(\w+)\}?", lambda m: environment.get(m.group(1), m.group(0)), source["url"])
        for source in datasources
        if source["type"] == "prometheus"
    }
    assert "http://prometheus:9090" in {url.rstrip("/") for url in urls}


def test_compose_prometheus_config_and_rules_pass_promtool(tmp_path: Path, promtool: str) -> None:
    config = yaml.safe_load((COMPOSE / "prometheus.yml").read_text(encoding="utf-8"))
    # The same file, with the rules where they are in the repository rather than the container.
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run([promtool, "check", "config", str(checked)])
    assert result.returncode == 0, result.stdout + result.stderr
    for rule_file in RULES_DIR.glob("*.yml"):
        assert rule_file.name in result.stdout + result.stderr


def test_compose_alertmanager_config_passes_amtool(amtool: str) -> None:
    result = run([amtool, "check-config", str(COMPOSE / "alertmanager.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_real_credentials_are_the_example_configs_secret_files() -> None:
    real = compose_file("compose.real.yml")
    exporter = real["services"]["exporter"]
    assert any(f"--config.file={CONFIG_PATH}" == arg for arg in exporter["command"])
    (config_path,) = [path for target, path in mounts(exporter).items() if target == CONFIG_PATH]
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    # Compose mounts a service's secrets at /run/secrets/NAME.
    assert secret_file_references(config) == {f"/run/secrets/{s}" for s in exporter["secrets"]}
    assert set(exporter["secrets"]) == set(real["secrets"])
    variables = set(re.findall(r"\$\{(\w+)", (COMPOSE / "compose.real.yml").read_text()))
    assert variables <= set(load_env_example())


# --------------------------------------------------------------------------------------------
# Dockerfile (static; tests/test_image.py builds and runs it)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (FROM first), global ARGs resolved into FROMs."""
    global_args: dict[str, str] = {}
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ARG" and not result:
            name, _, default = arguments.partition("=")
            global_args[name] = default
        elif keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], arguments)
            result.append([(keyword, image)])
        else:
            result[-1].append((keyword, arguments))
    return result


def values(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for kw, arguments in stage if kw == keyword]


def test_dockerfile_builds_a_wheel_into_a_venv_on_a_slim_base_in_two_stages() -> None:
    build, final = stages()[0], stages()[-1]
    assert len(stages()) >= 2
    for stage in (build, final):
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.(1[1-9])-slim(-\w+)?", image), image
    build_steps = " ".join(values(build, "RUN"))
    assert "pip wheel" in build_steps or "-m build" in build_steps
    venv = re.search(r"python -m venv --without-pip (\S+)", build_steps)
    assert venv, "the build stage should create a virtual environment without pip"
    assert f"--python {venv.group(1)}/bin/python install" in build_steps
    assert ".whl" in build_steps
    copies = values(final, "COPY")
    assert any(c.startswith("--from=") and c.split()[1:] == [venv.group(1)] * 2 for c in copies)
    assert not [c for c in copies if not c.startswith("--from=")], "final stage copies sources"


def test_dockerfile_runs_the_console_script_as_non_root() -> None:
    final = stages()[-1]
    (user,) = values(final, "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert values(final, "EXPOSE") == [str(PORT)]
    (entrypoint,) = values(final, "ENTRYPOINT")
    entrypoint_argv = json.loads(entrypoint)
    assert len(entrypoint_argv) == 1
    assert PurePosixPath(entrypoint_argv[0]).name == CONSOLE_SCRIPT
    assert CONSOLE_SCRIPT in PROJECT["scripts"]
    (cmd,) = values(final, "CMD")
    assert f"--config.file={CONFIG_PATH}" in json.loads(cmd)
    labels = " ".join(values(final, "LABEL"))
    for label in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in labels
    (version_arg,) = [a for a in values(final, "ARG") if a.startswith("VERSION=")]
    assert version_arg == f"VERSION={VERSION}", "keep the image version with pyproject.toml"


def healthcheck_argv() -> list[str]:
    (healthcheck,) = values(stages()[-1], "HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options
    return json.loads(command)


def test_dockerfile_healthcheck_asks_the_health_endpoint() -> None:
    argv = healthcheck_argv()
    assert argv[0] == "python"  # the slim base has no curl or wget
    assert f"http://127.0.0.1:{PORT}{HEALTH_PATH}" in argv[-1]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def build_context_sources() -> list[str]:
    """What the build stage COPYs from the build context (the repository root)."""
    sources = []
    for arguments in values(stages()[0], "COPY"):
        if not arguments.startswith("--from="):
            sources.extend(arguments.split()[:-1])
    return sources


def test_dockerignore_keeps_what_the_build_copies_and_nothing_else() -> None:
    sources = build_context_sources()
    assert {"pyproject.toml", "exporter"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source), f".dockerignore drops {source}, which the build copies"
    for path in sorted((ROOT / "exporter").rglob("*.py")):
        assert not dockerignored(path.relative_to(ROOT).as_posix()), path
    for path in (
        ".git/config",
        ".venv/bin/python",
        "tests/test_deploy.py",
        "deploy/compose/secrets/odin_password",
        "deploy/compose/.env",
        "exporter/__pycache__/cli.cpython-311.pyc",
    ):
        assert dockerignored(path), f"{path} would be sent to the Docker daemon"


# --------------------------------------------------------------------------------------------
# systemd


def unit_settings() -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value (systemd keys may repeat), continuations joined."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    pending = ""
    for raw in SYSTEMD_UNIT.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(" ".join(value.split()))
    return sections


def test_systemd_unit_is_hardened() -> None:
    service = unit_settings()["Service"]

    def last(key: str) -> str:
        assert key in service, f"{key}= is missing"
        return service[key][-1]

    for key in ("DynamicUser", "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert last(key) in ("yes", "true"), key
    assert last("ProtectSystem") == "strict"
    assert last("CapabilityBoundingSet") == ""
    families = set(last("RestrictAddressFamilies").split())
    assert families and families <= {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert last("ExecReload") == "/bin/kill -HUP $MAINPID"
    argv = last("ExecStart").split()
    assert PurePosixPath(argv[0]).name == CONSOLE_SCRIPT
    assert f"--config.file={CONFIG_PATH}" in argv
    assert "User" not in service, "DynamicUser allocates the user"
    assert unit_settings()["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_credentials_are_the_ones_the_config_reads() -> None:
    service = unit_settings()["Service"]
    credentials = {entry.split(":", 1)[0] for entry in service["LoadCredential"]}
    for entry in service["LoadCredential"]:
        assert entry.split(":", 1)[1].startswith("/etc/trunk-capacity-exporter/credentials/")
    config = yaml.safe_load(SYSTEMD_CONFIG.read_text(encoding="utf-8"))
    references = secret_file_references(config)
    assert references == {f"${{CREDENTIALS_DIRECTORY}}/{name}" for name in credentials}


def verifiable_unit(tmp_path: Path) -> Path:
    # `systemd-analyze verify` fails when ExecStart's binary does not exist or is not
    # executable, and the exporter is not installed in /opt on test machines: verify a copy of
    # the unit whose ExecStart points at a stand-in executable, everything else unchanged.
    stand_in = tmp_path / CONSOLE_SCRIPT
    stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stand_in.chmod(0o755)
    text = SYSTEMD_UNIT.read_text(encoding="utf-8")
    installed = f"/opt/trunk-capacity-exporter/bin/{CONSOLE_SCRIPT}"
    assert f"ExecStart={installed} " in text
    unit = tmp_path / SYSTEMD_UNIT.name
    unit.write_text(text.replace(f"ExecStart={installed} ", f"ExecStart={stand_in} "))
    return unit


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "`systemd-analyze verify` of the unit")
    unit = verifiable_unit(tmp_path)
    result = run([analyze, "verify", str(unit)])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # verify only warns (exit 0) about unknown keys or bad values: any line about our unit fails.
    problems = [line for line in output.splitlines() if unit.name in line]
    assert not problems, "\n".join(problems)


def test_systemd_analyze_security_rates_the_unit_ok(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "the unit's exposure level")
    unit = verifiable_unit(tmp_path)
    result = run([analyze, "security", "--offline=yes", "--no-pager", str(unit)])
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip(f"this systemd-analyze has no --offline: {result.stderr.strip()}")
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


# --------------------------------------------------------------------------------------------
# Packaging: the wheel, installed into a fresh virtual environment


@pytest.fixture(scope="module")
def installed(
    tmp_path_factory: pytest.TempPathFactory, module_processes: Processes
) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("wheel")
    # Build from exactly what the Dockerfile copies into its build stage, so this also proves
    # that the image's build context is enough to build the wheel.
    source = work / "source"
    source.mkdir()
    for name in build_context_sources():
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    built = module_processes.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(source)],
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("*.whl")
    venv = work / "venv"
    created = module_processes.run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    assert created.returncode == 0, created.stderr
    install = module_processes.run([str(venv / "bin" / "pip"), "install", str(wheel)], timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return {"wheel": wheel, "venv": venv, "script": venv / "bin" / CONSOLE_SCRIPT, "work": work}


def run_installed(installed: dict[str, Path], *args: str, **kwargs: Any) -> Any:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(kwargs.pop("env", {}))
    # From a directory without the source tree, so only the installed package can be imported.
    return run([str(installed["script"]), *args], cwd=installed["work"], env=env, **kwargs)


@pytest.mark.slow
def test_wheel_carries_the_version_and_the_console_script(installed: dict[str, Path]) -> None:
    wheel = installed["wheel"]
    assert wheel.name.startswith(f"trunk_capacity_exporter-{VERSION}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = f"trunk_capacity_exporter-{VERSION}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert f"\nVersion: {VERSION}\n" in metadata
    assert f"{CONSOLE_SCRIPT} = {PROJECT['scripts'][CONSOLE_SCRIPT]}" in entry_points
    assert "exporter/cli.py" in names and "exporter/__init__.py" in names
    assert not [name for name in names if name.startswith("tests/")]


@pytest.mark.slow
def test_installed_console_script_prints_its_version(installed: dict[str, Path]) -> None:
    result = run_installed(installed, "--version")
    assert result.returncode == 0, result.stderr
    assert VERSION in result.stdout.split(), result.stdout


def shipped_config_copy(path: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of a shipped config whose credential files exist (with dummy contents) in a
    temporary directory, and the environment it needs."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    text = path.read_text(encoding="utf-8")
    env = {}
    for reference in secret_file_references(yaml.safe_load(text)):
        directory, name = reference.rsplit("/", 1)
        (secrets / name).write_text("not-a-real-credential\n", encoding="utf-8")
        if directory == "${CREDENTIALS_DIRECTORY}":
            env["CREDENTIALS_DIRECTORY"] = str(secrets)  # as systemd's LoadCredential= sets it
        else:
            text = text.replace(f"{directory}/", f"{secrets}/")
    copy_path = tmp_path / "config.yml"
    copy_path.write_text(text, encoding="utf-8")
    return copy_path, env


SHIPPED_CONFIGS = [
    EXAMPLE_CONFIG,
    SYSTEMD_CONFIG,
    K8S_BASE / "config.yml",
    OVERLAY / "config.yml",
]


@pytest.mark.slow
@pytest.mark.parametrize("config", SHIPPED_CONFIGS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_installed_config_check_accepts_the_shipped_configs(
    installed: dict[str, Path], config: Path, tmp_path: Path
) -> None:
    checked, env = shipped_config_copy(config, tmp_path)
    result = run_installed(installed, "--config.check", "--config.file", str(checked), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not-a-real-credential" not in result.stdout + result.stderr


@pytest.mark.slow
def test_installed_config_check_refuses_a_broken_config(
    installed: dict[str, Path], tmp_path: Path
) -> None:
    checked, env = shipped_config_copy(EXAMPLE_CONFIG, tmp_path)
    broken = checked.read_text(encoding="utf-8").replace("max_concurrency:", "max_concurency:", 1)
    checked.write_text(broken, encoding="utf-8")
    result = run_installed(installed, "--config.check", "--config.file", str(checked), env=env)
    assert result.returncode == 2
    assert "max_concurency" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_image_healthcheck_command_passes_against_the_installed_exporter(
    installed: dict[str, Path], processes: Processes
) -> None:
    """The Dockerfile's HEALTHCHECK command, run against the installed exporter in demo mode
    (on a port of its choosing instead of 10042), succeeds; against a closed port it fails."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    server = processes.start(
        [str(installed["script"]), "--demo", "--web.listen-address=127.0.0.1:0"],
        cwd=installed["work"],
        env=env,
        inherit_env=False,
    )
    try:
        url = server.url()  # it binds port 0 and logs where it listens
        server.wait_until_ok(f"{url}/-/healthy")
        port = url.rsplit(":", 1)[1]
        python, *arguments = healthcheck_argv()
        argv = [str(installed["venv"] / "bin" / python), *arguments]
        healthy = run([a.replace(f":{PORT}/", f":{port}/") for a in argv], env=env, timeout=30)
        assert healthy.returncode == 0, healthy.stderr
        with closed_port() as closed_at:
            closed = run([a.replace(f":{PORT}/", f":{closed_at}/") for a in argv], env=env)
        assert closed.returncode != 0
    finally:
        server.stop(timeout=15)


# --------------------------------------------------------------------------------------------
# docs/deployment.md


def test_deploy_doc_prometheus_configs_pass_promtool(tmp_path: Path, promtool: str) -> None:
    configs = docs_prometheus_configs()
    assert len(configs) >= 2
    for index, block in enumerate(configs):
        path = tmp_path / f"prometheus-{index}.yml"
        path.write_text(block, encoding="utf-8")
        result = run([promtool, "check", "config", str(path)])
        assert result.returncode == 0, block + result.stdout + result.stderr


def test_deploy_doc_names_only_files_that_exist() -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"(?<![\w./-])((?:deploy|scripts|grafana|docs)/[\w./-]*\w/?)", text))
    assert len(paths) > 10
    images = {"grafana/grafana"}  # a container image name, not a path of this repository
    missing = sorted(p for p in paths - images if not (ROOT / p).exists())
    assert not missing, f"docs/deployment.md names files that do not exist: {missing}"
