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


def simulator_config(simulator: Simulator, **odin_settings: object) -> Config:
    """The demo's config (discovery, trunk groups, one DIDWW account) with Odin overrides."""
    config = demo_config(simulator)
    return replace(config, odin=(replace(config.odin[0], **odin_settings),))


@contextmanager
def serving(
    exporter: Exporter,
    timeouts: ScrapeTimeouts | None = None,
    reload: Callable[[], None] | None = None,
) -> Iterator[str]:
    """The exporter's real HTTP server on a free loopback port; yields its base URL."""
    app = ExporterApp(exporter, timeouts or ScrapeTimeouts(default=5.0), reload=reload)
    server = create_server(app, "127.0.0.1:0")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        exporter.close()
