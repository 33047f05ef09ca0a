"""Test helpers: a config for the simulator and the exporter serving HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from exporter.collector import Exporter
from exporter.config import Config
from exporter.demo import demo_config
from exporter.server import ExporterApp, ScrapeTimeouts, create_server
from exporter.simulator import Simulator
from exporter.web_config import WebConfig


def simulator_config(simulator: Simulator, **odin_settings: object) -> Config:
    """The demo's config (discovery, trunk groups, one DIDWW account) with Odin overrides."""
    config = demo_config(simulator)
    return replace(config, odin=(replace(config.odin[0], **odin_settings),))


@contextmanager
def serving(
    exporter: Exporter,
    timeouts: ScrapeTimeouts | None = None,
    reload: Callable[[], None] | None = None,
    web: WebConfig | None = None,
    handshake_timeout: float = 5.0,
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
    server = create_server(app, "127.0.0.1:0", web.ssl_context(), handshake_timeout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if web.tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        exporter.close()
