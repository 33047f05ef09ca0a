"""The upstream session takes its proxy settings from the environment, once, when it is made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from exporter.config import TlsSettings
from exporter.deadline import Deadline
from exporter.http_client import UpstreamSession
from exporter.telemetry import Telemetry

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy")
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")


@contextmanager
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering `[]` to every GET; yields its URL and the request targets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get_groups(base_url: str) -> int:
    session = UpstreamSession(
        target="odin-test",
        base_url=base_url,
        timeout=5.0,
        max_concurrency=2,
        rate_limit=0.0,
        tls=TlsSettings(),
        telemetry=Telemetry(),
    )
    try:
        params = {"serviceProviderId": "sp1"}
        return session.request("GET", "/groups", params=params, deadline=Deadline(5)).status
    finally:
        session.close()


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES + NO_PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_requests_go_through_the_proxy_named_in_the_environment(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    with recording_server() as (proxy_url, seen):
        clean_proxy_environment.setenv("http_proxy", proxy_url)

        assert get_groups("http://odin.invalid/api/v2") == 200

    # A proxy is sent the absolute URL of the upstream.
    assert seen == ["http://odin.invalid/api/v2/groups?serviceProviderId=sp1"]


def test_no_proxy_sends_requests_straight_to_the_upstream(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    with recording_server() as (upstream_url, seen):
        clean_proxy_environment.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens
        clean_proxy_environment.setenv("no_proxy", "127.0.0.1")

        assert get_groups(upstream_url + "/api/v2") == 200

    assert seen == ["/api/v2/groups?serviceProviderId=sp1"]
