"""Test helpers: waiting with a deadline, the one parser of expositions, a config for the
simulator, the exporter serving HTTP on loopback, web configs and the shipped alert rules.
Child processes are in tests/processes.py."""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from exporter.core.exposition import data_chunks
from exporter.core.snapshot import Snapshot
from exporter.core.vendor import Vendor
from exporter.demo import demo_config
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.serving.app import ExporterApp, ScrapeTimeouts
from exporter.serving.http_server import HttpServer, ServingLimits
from exporter.serving.listen import open_sockets, parse_listen_address
from exporter.serving.web_config import WebConfig, load_web_config
from simulator import Simulator
from tests.pki import Pki

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
ALERT_RULES = ROOT / "deploy" / "prometheus" / "rules" / "trunk-capacity-alerts.yml"


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.01) -> T:
    """Poll `condition` until it returns something true, and return that; fail saying what
    was awaited once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def simulator_config(simulator: Simulator, **odin_settings: object) -> Config:
    """The demo's config (discovery, trunk groups, one DIDWW account) with Odin overrides."""
    config = demo_config(simulator)
    odin, *others = config.targets
    return replace(config, targets=(replace(odin, **odin_settings), *others))


def snapshot_text(vendor: Vendor, snapshot: Snapshot) -> str:
    """A snapshot's data as the Prometheus text format."""
    parts = [part.lines for part in snapshot.parts]
    return b"".join(data_chunks(vendor.families, parts, openmetrics=False)).decode()


def parsed_families(text: str | Iterable[bytes]) -> dict[str, Metric]:
    """An exposition parsed by prometheus_client, by family name, in the exposition's order:
    the one way the tests read an exposition."""
    if not isinstance(text, str):
        text = b"".join(text).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str | Iterable[bytes]) -> Samples:
    """Every sample of an exposition: (sample name, its labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parsed_families(text).values()
        for sample in family.samples
    }


def value(parsed: Samples, name: str, **labels: str) -> float | None:
    """From samples(): the value of `name` with exactly `labels`, or None."""
    return parsed.get((name, frozenset(labels.items())))


def sample_value(families: dict[str, Metric], name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly `labels`, or None."""
    family_name = name.removesuffix("_total") if name.endswith("_total") else name
    for sample in families.get(family_name, Metric(name, "", "gauge")).samples:
        if sample.name == name and sample.labels == labels:
            return sample.value
    return None


@contextmanager
def serving(
    exporter: Exporter,
    timeouts: ScrapeTimeouts | None = None,
    reload: Callable[[], None] | None = None,
    web: WebConfig | None = None,
    handshake_timeout: float = 5.0,
    limits: ServingLimits | None = None,
) -> Iterator[str]:
    """The exporter's real HTTP server (with `web`'s TLS and auth) on a free loopback port;
    yields its base URL."""
    web = web or WebConfig()
    app = ExporterApp(
        exporter,
        timeouts or ScrapeTimeouts(default=5.0),
        reload=reload,
        auth=web.basic_auth(),
        headers=web.headers,
        rate_limiter=web.rate_limiter(),
    )
    limits = limits or ServingLimits(tls_handshake_timeout=handshake_timeout)
    try:
        with serving_app(
            app, web.ssl_context(), limits, headers=web.headers, light=app.light
        ) as url:
            yield url
    finally:
        exporter.close()


@contextmanager
def serving_app(
    app: Callable[..., Iterable[bytes]],
    ssl_context: ssl.SSLContext | None = None,
    limits: ServingLimits | None = None,
    address: str = "127.0.0.1:0",
    headers: Sequence[tuple[str, str]] = (),
    light: Callable[[dict[str, Any]], bool] | None = None,
) -> Iterator[str]:
    """Any WSGI app on the exporter's HTTP server, on a free loopback port; its base URL.
    `light`: which requests run on the light workers (the server's default if None)."""
    limits = limits or ServingLimits()
    sockets = open_sockets([parse_listen_address(address)], limits.backlog)
    server = HttpServer(app, sockets, ssl_context, limits, headers=headers, light=light)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    host = server.server_address[0]
    host = f"[{host}]" if ":" in host else host
    try:
        yield f"{scheme}://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_web_config(directory: Path, document: dict[str, Any]) -> Path:
    path = directory / "web-config.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def web_config(directory: Path, document: dict[str, Any]) -> WebConfig:
    return load_web_config(write_web_config(directory, document))


def tls_section(pki: Pki, **settings: str) -> dict[str, Any]:
    return {
        "tls_server_config": {"cert_file": pki.server_crt, "key_file": pki.server_key, **settings}
    }


# Alerts on a capacity limit: each must have a unit test showing it does not fire on +Inf.
CAPACITY_ALERTS = {
    "TrunkCapacityServiceProviderOversubscribed",
    "TrunkCapacityGroupAllocationAboveAvailable",
    "TrunkCapacityTrunkGroupLicencesExhausted",
    "TrunkCapacityTrunkGroupSaturated",
    "TrunkCapacityTrunkGroupDirectionSaturated",
    "TrunkCapacityGroupSaturated",
    "TrunkCapacityServiceProviderSaturated",
    "TrunkCapacityPoolNearExhaustion",
    "TrunkCapacityPoolUnassignedBelowOrderMinimum",
    "TrunkCapacityChainNearCarrierLimit",
    "TrunkCapacityChainOversold",
}


def alerts() -> list[dict[str, Any]]:
    """The shipped alert rules."""
    document = yaml.safe_load(ALERT_RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def printed_yaml_blocks(*paths: Path) -> list[tuple[str, dict]]:
    """Every ```yaml block of these Markdown files, parsed as printed, with its file's name."""
    found = []
    for path in paths:
        for block in re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            found.append((path.name, yaml.safe_load(block)))
    return found


def printed_prometheus_configs() -> list[tuple[str, dict]]:
    """Every Prometheus config (a block with scrape_configs) that README.md and docs/*.md
    print, parsed as printed: what operators copy."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [
        (doc, block)
        for doc, block in printed_yaml_blocks(*docs)
        if isinstance(block, dict) and "scrape_configs" in block
    ]
