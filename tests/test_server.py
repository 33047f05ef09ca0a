"""The exporter's HTTP server end to end, against the simulated upstreams on loopback."""

from __future__ import annotations

import gzip
import math
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.scrape.running import Exporter
from exporter.scrape.sources import TargetStatus
from exporter.serving.app import ExporterApp, ScrapeTimeouts
from exporter.serving.http_server import HttpServer, ServingLimits
from exporter.serving.listen import (
    ListenError,
    open_sockets,
    parse_listen_address,
    socket_specs,
    unbound_socket,
)
from exporter.serving.negotiation import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    gzip_accepted,
    negotiate,
)
from simulator import Fault, Simulator
from tests.helpers import samples, serving, serving_app, simulator_config, value
from tests.processes import Processes

REPORTS = "/service-providers/trunk-groups/call-capacity/reports"


def test_metrics_exports_both_apis_with_the_simulators_values(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    parsed = samples(response.text)
    assert value(parsed, "odin_up", target="odin-demo") == 1
    assert value(parsed, "didww_up", target="didww-demo") == 1
    for sp in simulator.dataset.odin.service_providers:
        labels = {"target": "odin-demo", "service_provider": sp.id}
        trunking = any(group.trunking for group in sp.groups)
        # An SP without trunking is a standing fact, not a failure: up, trunking disabled.
        assert value(parsed, "odin_service_provider_up", **labels) == 1, sp.id
        enabled = value(parsed, "odin_service_provider_trunking_enabled", **labels)
        assert enabled == (1 if trunking else 0), sp.id
        if not trunking:
            assert value(parsed, "odin_service_provider_max_active_calls", **labels) is None
            continue
        cap = math.inf if sp.max_active_calls == -1 else sp.max_active_calls
        assert value(parsed, "odin_service_provider_max_active_calls", **labels) == cap
        for group in sp.groups:
            if group.trunking is None:
                continue
            got = value(parsed, "odin_group_max_active_calls", **labels, group=group.id)
            assert got == group.trunking.max_active_calls, group.id
            for trunk_group in group.trunking.trunk_groups:
                tg_labels = {**labels, "group": group.id, "trunk_group": trunk_group.name}
                limit = value(parsed, "odin_trunk_group_max_active_calls", **tg_labels)
                assert limit == trunk_group.max_active_calls
                active = sum(
                    value(parsed, "odin_trunk_group_active_calls", **tg_labels, direction=d)
                    for d in ("incoming", "outgoing")
                )
                assert 0 <= active <= limit
    for pool in simulator.dataset.didww.capacity_pools:
        labels = {"target": "didww-demo", "pool": pool.name}
        assert value(parsed, "didww_capacity_pool_total_channels", **labels) == (
            pool.total_channels_count
        )
        assert value(parsed, "didww_capacity_pool_unassigned_channels", **labels) == (
            pool.total_channels_count - pool.assigned_channels_count
        )
    assert value(parsed, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") == 0


def test_probe_exports_only_the_named_target(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/probe", params={"target": "didww-demo"}, timeout=10)
    assert response.status_code == 200
    parsed = samples(response.text)
    assert value(parsed, "didww_up", target="didww-demo") == 1
    assert not any(name.startswith("odin_") and labels for (name, labels) in parsed)
    # Only the DIDWW side of the demo's link names the Odin target (its `target` label).
    about_odin = {name for (name, labels) in parsed if dict(labels).get("target") == "odin-demo"}
    assert about_odin == {"trunk_capacity_link_resolved"}
    assert value(parsed, "trunk_capacity_exporter_build_info") is None


@pytest.mark.parametrize(
    "query",
    [
        {"target": "nope"},
        {"target": "http://169.254.169.254/latest"},
        {"target": "odin-demo\r\nX-Injected: 1"},
        {},
        {"target": ["odin-demo", "didww-demo"]},
        {"target": "odin-demo", "module": "x"},
    ],
)
def test_probe_refuses_anything_but_one_configured_name(simulator: Simulator, query: dict) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/probe", params=query, timeout=10)
    assert response.status_code == 400
    assert simulator.stats.count("odin") == 0
    assert simulator.stats.count("didww") == 0


def test_healthy_touches_no_upstream_and_nothing_collects_at_start(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/-/healthy", timeout=5)
        landing = requests.get(f"{url}/", timeout=5)
    assert response.status_code == 200
    assert landing.status_code == 200
    assert "didww-demo" in landing.text
    assert simulator.stats.count("odin") == 0
    assert simulator.stats.count("didww") == 0


def test_openmetrics_by_content_negotiation_and_gzip(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(
            f"{url}/metrics",
            headers={
                "Accept": "application/openmetrics-text; version=1.0.0",
                "Accept-Encoding": "gzip",
            },
            timeout=10,
            stream=True,
        )
        raw = response.raw.read()
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.headers["Content-Encoding"] == "gzip"
    text = gzip.decompress(raw).decode()
    assert text.rstrip().endswith("# EOF")
    assert 'odin_up{target="odin-demo"} 1.0' in text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("POST", "/metrics", 405),
        ("DELETE", "/probe", 405),
        ("GET", "/-/reload", 405),
    ],
)
def test_unknown_paths_and_methods(
    simulator: Simulator, method: str, path: str, status: int
) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.request(method, f"{url}{path}", timeout=5)
    assert response.status_code == status


def test_hostile_query_strings_get_4xx(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        too_long = requests.get(f"{url}/probe?target={'a' * 5000}", timeout=5)
        not_utf8 = requests.get(f"{url}/probe?target=%ff%fe", timeout=5)
        unknown = requests.get(f"{url}/metrics?debug=1", timeout=5)
    assert too_long.status_code == 414
    assert not_utf8.status_code == 400
    assert unknown.status_code == 400
    assert simulator.stats.count("odin") == 0


def test_one_failing_sp_and_one_failing_target_leave_the_rest(simulator: Simulator) -> None:
    simulator.inject(
        Fault(
            api="odin",
            path=REPORTS,
            match={"serviceProviderId": "ent.acme"},
            kind="html",
            status=502,
        )
    )
    simulator.inject(Fault(api="didww", path="/balance", kind="status", status=401))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed = samples(requests.get(f"{url}/metrics", timeout=15).text)
    assert value(parsed, "odin_up", target="odin-demo") == 1
    assert (
        value(parsed, "odin_service_provider_up", target="odin-demo", service_provider="ent.acme")
        == 0
    )
    assert (
        value(parsed, "odin_service_provider_up", target="odin-demo", service_provider="ent.globex")
        == 1
    )
    assert (
        value(
            parsed,
            "odin_service_provider_max_active_calls",
            target="odin-demo",
            service_provider="ent.acme",
        )
        is None
    )
    assert value(parsed, "didww_up", target="didww-demo") == 0
    assert value(parsed, "didww_account_balance", target="didww-demo") is None
    assert (
        value(parsed, "didww_capacity_pool_total_channels", target="didww-demo", pool="Extended")
        is not None
    )
    assert (
        value(
            parsed,
            "trunk_capacity_exporter_collect_errors_total",
            target="didww-demo",
            reason="auth",
        )
        == 1
    )
    assert (
        value(
            parsed,
            "trunk_capacity_exporter_collect_errors_total",
            target="odin-demo",
            reason="http_error",
        )
        >= 1
    )


def test_demo_exposition_passes_promtool_check_metrics(processes: Processes, promtool: str) -> None:
    once = processes.exporter("--demo", "--once")
    assert once.returncode == 0, once.stderr
    assert "odin_up" in once.stdout and "didww_up" in once.stdout
    check = processes.run([promtool, "check", "metrics"], input=once.stdout, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""


# --- What a client sends is checked before any collection --------------------------------

PROMETHEUS_2_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
    "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
PROMETHEUS_3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
    "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text"),
        ("", "text"),
        ("*/*", "text"),
        ("text/plain", "text"),
        ("text/plain;version=0.0.4", "text"),
        ("application/openmetrics-text", "openmetrics"),
        ("application/openmetrics-text; version=1.0.0", "openmetrics"),
        ('application/openmetrics-text; version="1.0.0"', "openmetrics"),
        ("APPLICATION/OpenMetrics-Text; Version=0.0.1", "openmetrics"),
        (PROMETHEUS_2_ACCEPT, "openmetrics"),
        (PROMETHEUS_3_ACCEPT, "openmetrics"),
        ("text/plain;q=0.9,application/openmetrics-text;q=0.5", "text"),
        ("application/openmetrics-text;q=0.5,text/plain;q=0.5", "text"),
        ("application/openmetrics-text; version=abc", "text"),
        ("application/openmetrics-text; version=2.0.0", "text"),
        ("application/openmetrics-text; version=", "text"),
        ("application/openmetrics-text; q=0", "text"),
        ("application/openmetrics-text; q=2", "text"),
        ("application/openmetrics-text; q=abc", "text"),
        ("application/openmetrics-text; =1", "text"),
        ("application/openmetrics-text;;;", "text"),
        ("application/openmetrics-text" + ";x=1" * 2000, "text"),
        ("garbage, \x00\xff, ;;, /", "text"),
        ("application/openmetrics-text; version=abc, application/openmetrics-text", "openmetrics"),
    ],
)
def test_negotiate_picks_one_of_two_formats_and_never_fails(
    accept: str | None, expected: str
) -> None:
    exposition = negotiate(accept)
    assert exposition.format == expected
    assert exposition.content_type == (
        OPENMETRICS_CONTENT_TYPE if expected == "openmetrics" else TEXT_CONTENT_TYPE
    )


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=abc", False),
        ("br", False),
        ("gzip" + ",x" * 3000, False),
    ],
)
def test_gzip_accepted(accept_encoding: str | None, expected: bool) -> None:
    assert gzip_accepted(accept_encoding) is expected


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Prometheus-Scrape-Timeout-Seconds": "abc"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "nan"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "inf"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "-5"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "0"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "1e999"},
    ],
)
def test_a_bad_scrape_timeout_is_400_before_any_upstream_call(
    simulator: Simulator, headers: dict[str, str]
) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 400
    assert "X-Prometheus-Scrape-Timeout-Seconds" in response.text
    assert simulator.stats.count("odin") == simulator.stats.count("didww") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "application/openmetrics-text; version=abc"},
        {"Accept": "\x80\xff;;;=", "Accept-Encoding": "gzip;q=x, \x80"},
        {"Accept": "a" * 8000},
        {"X-Prometheus-Scrape-Timeout-Seconds": "1e-300"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "99999999"},
    ],
)
def test_odd_but_harmless_headers_get_the_text_format(
    simulator: Simulator, headers: dict[str, str]
) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", headers=headers, timeout=15)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == TEXT_CONTENT_TYPE
    assert 'odin_up{target="odin-demo"} 1.0' in response.text


# --- The HTTP server, on the wire ------------------------------------------------------------


def raw_exchange(url: str, request: bytes, timeout: float = 5.0) -> bytes:
    """Send `request` as is and read until the server closes the connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def streaming_app(closed: threading.Event, chunks: int = 3, chunk: bytes = b"x" * 10):
    """A WSGI app answering with `chunks` chunks and no Content-Length, like /metrics."""

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body() -> Iterator[bytes]:
            try:
                for _ in range(chunks):
                    yield chunk
            finally:
                closed.set()

        return body()

    return app


def test_a_streamed_answer_is_chunked_on_http_1_1_and_ends_the_connection_on_1_0() -> None:
    closed = threading.Event()
    with serving_app(streaming_app(closed)) as url:
        chunked = raw_exchange(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        plain = raw_exchange(url, b"GET / HTTP/1.0\r\n\r\n")
    head, body = chunked.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert body == b"1e\r\n" + b"x" * 30 + b"\r\n0\r\n\r\n"  # small chunks gathered
    head, body = plain.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert body == b"x" * 30
    assert closed.is_set()


def test_a_client_leaving_mid_stream_closes_the_generator() -> None:
    closed = threading.Event()
    app = streaming_app(closed, chunks=100_000, chunk=b"y" * 65536)
    with serving_app(app, limits=ServingLimits(write_timeout=2)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert closed.wait(5), "the generator was not closed after the client left"
        assert requests.get(url, timeout=5, stream=True).status_code == 200


@pytest.mark.slow
def test_a_slow_reader_is_cut_off_at_the_write_timeout() -> None:
    """200 MB offered, read steadily at about 10 MB/s: each write goes through in time, but the
    whole answer may not take longer than --web.write-timeout (the time is taken where the
    answer ends: kernel buffers may still hold megabytes for the client)."""
    closed = threading.Event()
    app = streaming_app(closed, chunks=3200, chunk=b"z" * 65536)
    with serving_app(app, limits=ServingLimits(write_timeout=2)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            with suppress(OSError):
                while not closed.is_set() and time.monotonic() - started < 15:
                    sock.recv(1 << 20)
                    time.sleep(0.1)
            ended_after = time.monotonic() - started
    assert closed.is_set(), "the answer was still being sent after 15 s"
    assert ended_after < 5, f"the answer ended after {ended_after:.1f} s"


def test_streamed_gzip_and_keep_alive_through_requests(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url, requests.Session() as session:
        first = session.get(f"{url}/metrics", headers={"Accept-Encoding": "gzip"}, timeout=10)
        second = session.get(f"{url}/-/healthy", timeout=10)
        head = session.head(f"{url}/metrics", timeout=10)
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.headers["Transfer-Encoding"] == "chunked"
    assert "odin_up" in first.text  # requests decoded the gzip stream
    assert second.text == "Healthy\n"
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", b"431"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /  HTTP/1.1\r\n\r\n", b"400"),
        (b"GET http://x/ HTTP/1.1\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nBad Header: 1\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\n folded\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"501"),
    ],
)
def test_malformed_requests_get_a_4xx_or_5xx_and_a_closed_connection(
    request_bytes: bytes, status: bytes
) -> None:
    closed = threading.Event()
    with serving_app(streaming_app(closed)) as url:
        answer = raw_exchange(url, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]
    assert b"Connection: close" in answer
    assert not closed.is_set(), "a malformed request reached the app"


def test_a_failing_app_is_500_and_the_server_keeps_serving() -> None:
    def app(environ: dict, start_response: Callable) -> list[bytes]:
        raise RuntimeError("bug")

    with serving_app(app) as url:
        answers = [requests.get(url, timeout=5).status_code for _ in range(3)]
    assert answers == [500, 500, 500]


# --- Listen addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        (":10042", "", 10042),
        ("127.0.0.1:10042", "127.0.0.1", 10042),
        ("[::1]:10042", "::1", 10042),
        ("[::]:0", "::", 0),
        ("localhost:9", "localhost", 9),
    ],
)
def test_listen_addresses_parse(text: str, host: str, port: int) -> None:
    address = parse_listen_address(text)
    assert (address.host, address.port) == (host, port)


@pytest.mark.parametrize(
    "text", ["10042", "::1:10042", "[::1]", "[127.0.0.1]:80", "host:http", ":65536", "[x]:1", ""]
)
def test_bad_listen_addresses_are_one_line(text: str) -> None:
    with pytest.raises(ListenError) as error:
        parse_listen_address(text)
    assert "\n" not in str(error.value) and "listen address" in str(error.value)


def test_port_alone_is_one_dual_stack_socket() -> None:
    """`:PORT` listens on IPv4 and IPv6 alike; checked on the socket's options, unbound."""
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6: `:PORT` falls back to IPv4 alone")
    (spec,) = socket_specs(parse_listen_address(":10042"))
    assert (spec.family, spec.host, spec.port, spec.v6only) == (socket.AF_INET6, "::", 10042, False)
    with unbound_socket(spec) as sock:
        assert sock.family == socket.AF_INET6
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0


def test_an_ipv6_literal_is_ipv6_only_and_localhost_is_both_loopbacks() -> None:
    (spec,) = socket_specs(parse_listen_address("[::1]:0"))
    assert (spec.family, spec.v6only) == (socket.AF_INET6, True)
    hosts = {spec.host for spec in socket_specs(parse_listen_address("localhost:0"))}
    assert "127.0.0.1" in hosts
    assert hosts <= {"127.0.0.1", "::1"}


def test_serving_on_ipv6_loopback() -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError as error:
        pytest.skip(f"no IPv6 loopback on this host: {error}")
    closed = threading.Event()
    with serving_app(streaming_app(closed), address="[::1]:0") as url:
        assert url.startswith("http://[::1]:")
        assert requests.get(url, timeout=5).text == "x" * 30


class StubExporter:
    """Stands in for the Exporter: counts scrapes, answers with a fixed exposition."""

    target_names = ("odin-a",)
    reload_state = (True, 0.0)

    def __init__(self) -> None:
        self.scrapes = 0

    def status(self) -> list[TargetStatus]:
        return [TargetStatus("odin-a", "odin", "https://odin.example", None, None, None)]

    def has_target(self, name: str) -> bool:
        return name in self.target_names

    def unresolved_links(self) -> list:
        return []

    def start_scrape(self, deadline: object, target: str | None = None) -> StubPending:
        self.scrapes += 1
        return StubPending()


class StubPending:
    """A scrape already collected."""

    def __init__(self) -> None:
        self.ready: Future[None] = Future()
        self.ready.set_result(None)
        self.ready_by = time.monotonic()

    def result(self) -> StubScrape:
        return StubScrape()


class StubScrape:
    def chunks(self, openmetrics: bool, gzip: bool = False) -> Iterator[bytes]:
        yield b"# EOF\n" if openmetrics else b"up 1\n"


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "BREW"]),
    path=st.sampled_from(["/", "/metrics", "/probe", "/-/healthy", "/-/reload", "/x"]),
    query=header_text,
    accept=header_text,
    accept_encoding=header_text,
    timeout=st.one_of(header_text, st.floats().map(str)),
)
def test_nothing_a_client_sends_is_a_500_and_refusals_cost_no_collection(
    method: str, path: str, query: str, accept: str, accept_encoding: str, timeout: str
) -> None:
    exporter = StubExporter()
    app = ExporterApp(exporter, ScrapeTimeouts(default=1))  # type: ignore[arg-type]
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_ACCEPT": accept,
        "HTTP_ACCEPT_ENCODING": accept_encoding,
        "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS": timeout,
    }
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    status = int(statuses[0].split()[0])
    assert status != 500, body
    assert (exporter.scrapes == 1) == (status == 200 and path in ("/metrics", "/probe"))


def test_shutdown_lets_an_answer_in_progress_finish_and_closes_idle_connections() -> None:
    answering, finish = threading.Event(), threading.Event()

    def slow(environ: dict, start_response: Callable) -> list[bytes]:
        answering.set()
        finish.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"done\n"]

    sockets = open_sockets([parse_listen_address("127.0.0.1:0")], 16)
    server = HttpServer(slow, sockets, limits=ServingLimits(shutdown_grace=3))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with ThreadPoolExecutor(2) as pool:
            # Accepted in the order they connect: the idle connection is open by the time
            # the answer is in progress.
            idle = socket.create_connection(("127.0.0.1", port), timeout=5)
            answer = pool.submit(requests.get, f"http://127.0.0.1:{port}/", timeout=5)
            assert answering.wait(5), "the request never reached the app"
            stopping = pool.submit(server.shutdown)
            assert idle.recv(1) == b""  # closed by the server, with the answer in progress
            assert not answer.done()
            finish.set()
            assert answer.result().text == "done\n"
            stopping.result(timeout=5)
        idle.close()
    finally:
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()
