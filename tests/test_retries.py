"""Retries, Retry-After and the client-side rate limit of the upstream HTTP session."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
import responses

from exporter.config.target import TlsSettings
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.telemetry import Telemetry
from exporter.upstream.http_client import RateLimiter, UpstreamSession

BASE = "https://upstream.test/api"


def make_session(rate_limit: float = 0.0) -> UpstreamSession:
    return UpstreamSession(
        target="t",
        base_url=BASE,
        timeout=5.0,
        max_concurrency=4,
        rate_limit=rate_limit,
        tls=TlsSettings(),
        telemetry=Telemetry(),
    )


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(20.0)
    started = time.monotonic()
    for _ in range(5):
        limiter.wait(Deadline(5), "/x")
    assert time.monotonic() - started >= 4 / 20 - 0.01


def test_rate_limiter_refuses_to_wait_past_the_deadline() -> None:
    limiter = RateLimiter(1.0)
    limiter.wait(Deadline(5), "/x")
    with pytest.raises(UpstreamError) as caught:
        limiter.wait(Deadline(0.2), "/x")
    assert caught.value.reason == "timeout"


def test_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(0.0)
    started = time.monotonic()
    for _ in range(100):
        limiter.wait(Deadline(1), "/x")
    assert time.monotonic() - started < 0.05


@responses.activate
def test_503_is_retried_then_succeeds() -> None:
    responses.add(responses.GET, f"{BASE}/r", status=503)
    responses.add(responses.GET, f"{BASE}/r", json={"ok": True})
    response = make_session().request("GET", "/r", deadline=Deadline(5))
    assert response.status == 200
    assert len(responses.calls) == 2


@responses.activate
def test_400_is_not_retried() -> None:
    responses.add(responses.GET, f"{BASE}/r", status=400)
    assert make_session().request("GET", "/r", deadline=Deadline(5)).status == 400
    assert len(responses.calls) == 1


@responses.activate
def test_retry_after_longer_than_the_deadline_returns_at_once() -> None:
    responses.add(responses.GET, f"{BASE}/r", status=429, headers={"Retry-After": "30"})
    started = time.monotonic()
    response = make_session().request("GET", "/r", deadline=Deadline(2))
    assert response.status == 429
    assert time.monotonic() - started < 0.5
    assert len(responses.calls) == 1


@responses.activate
def test_retry_after_is_honoured() -> None:
    responses.add(responses.GET, f"{BASE}/r", status=429, headers={"Retry-After": "0.4"})
    responses.add(responses.GET, f"{BASE}/r", json={})
    started = time.monotonic()
    assert make_session().request("GET", "/r", deadline=Deadline(5)).status == 200
    assert time.monotonic() - started >= 0.4


@responses.activate
def test_oversized_body_is_an_invalid_response() -> None:
    responses.add(responses.GET, f"{BASE}/r", body=b"x" * (9 * 1024 * 1024))
    with pytest.raises(UpstreamError) as caught:
        make_session().request("GET", "/r", deadline=Deadline(5))
    assert caught.value.reason == "invalid_response"
    assert "exceeds 8 MiB" in caught.value.detail


class _DrippingHandler(http.server.BaseHTTPRequestHandler):
    """Answers 200 with a body that arrives one byte every 0.2 s: each read is within any
    read timeout, yet the whole body would take minutes."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client gave up, as it should

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow
def test_a_trickling_body_is_abandoned_at_the_deadline() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DrippingHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    telemetry = Telemetry()
    session = UpstreamSession(
        target="t",
        base_url=f"http://127.0.0.1:{server.server_address[1]}",
        timeout=5.0,
        max_concurrency=1,
        rate_limit=0.0,
        tls=TlsSettings(),
        telemetry=telemetry,
    )
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamError) as caught:
            session.request("GET", "/slow", deadline=Deadline(1.0))
        elapsed = time.monotonic() - started
    finally:
        session.close()
        server.shutdown()
        server.server_close()
    assert caught.value.reason == "timeout"
    assert elapsed < 1.6
    codes = {
        s.labels["code"]
        for f in telemetry.target_families({"t"})
        for s in f.samples
        if s.name.endswith("requests_total")
    }
    assert codes == {"timeout"}
