"""Test helpers: a config for the simulator and the exporter serving HTTP on loopback."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

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
from exporter.serving.web_config import WebConfig
from simulator import Simulator


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
    """An exposition parsed by prometheus_client, by family name."""
    if not isinstance(text, str):
        text = b"".join(text).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


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
    )
    limits = limits or ServingLimits(tls_handshake_timeout=handshake_timeout)
    try:
        with serving_app(app, web.ssl_context(), limits, headers=web.headers) as url:
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
) -> Iterator[str]:
    """Any WSGI app on the exporter's HTTP server, on a free loopback port; its base URL."""
    limits = limits or ServingLimits()
    sockets = open_sockets([parse_listen_address(address)], limits.backlog)
    server = HttpServer(app, sockets, ssl_context, limits, headers=headers)
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
