"""The upstream session: proxy settings from the environment, taken once when it is made;
its requests' headers, bodies and URLs, as requests would prepare them; its connections'
name lookups, bounded by the connect timeout, with the name kept for Host, SNI and the
certificate check."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config.target import TlsSettings
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.telemetry import Telemetry
from exporter.upstream.http_client import UpstreamSession
from tests.pki import Pki

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy")
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")


Seen = list[tuple[str, str, dict[str, str], bytes]]  # method, target, headers, body


@contextmanager
def echo_server(
    tls: ssl.SSLContext | None = None,
) -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], bytes]]]]:
    """A loopback server answering `{}` (over TLS with `tls`); yields its URL and each
    request's method, target, headers and body."""
    seen: Seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls is not None else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def upstream_session(
    base_url: str, tls: TlsSettings | None = None, headers: dict[str, str] | None = None
) -> Iterator[UpstreamSession]:
    session = UpstreamSession(
        target="odin-test",
        base_url=base_url,
        timeout=5.0,
        max_concurrency=2,
        rate_limit=0.0,
        tls=tls or TlsSettings(),
        telemetry=Telemetry(),
        headers=headers,
    )
    try:
        yield session
    finally:
        session.close()


def get_groups(base_url: str) -> int:
    with upstream_session(base_url) as session:
        params = {"serviceProviderId": "sp1"}
        return session.request("GET", "/groups", params=params, deadline=Deadline(5)).status


def targets(seen: Seen) -> list[str]:
    return [target for _, target, _, _ in seen]


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES + NO_PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_requests_go_through_the_proxy_named_in_the_environment(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    with echo_server() as (proxy_url, seen):
        clean_proxy_environment.setenv("http_proxy", proxy_url)

        assert get_groups("http://odin.invalid/api/v2") == 200

    # A proxy is sent the absolute URL of the upstream.
    assert targets(seen) == ["http://odin.invalid/api/v2/groups?serviceProviderId=sp1"]


def test_no_proxy_sends_requests_straight_to_the_upstream(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    with echo_server() as (upstream_url, seen):
        clean_proxy_environment.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens
        clean_proxy_environment.setenv("no_proxy", "127.0.0.1")

        assert get_groups(upstream_url + "/api/v2") == 200

    assert targets(seen) == ["/api/v2/groups?serviceProviderId=sp1"]


def test_requests_carry_the_session_headers_and_a_json_body() -> None:
    with (
        echo_server() as (url, seen),
        upstream_session(url + "/api/v2", headers={"Api-Key": "k"}) as session,
    ):
        session.request("GET", "/groups", params={"a": "b c"}, deadline=Deadline(5))
        session.request(
            "POST",
            "/auth/token",
            json_body={"username": "ü"},
            headers={"X-Extra": "1"},
            deadline=Deadline(5),
        )

    (get_method, get_path, get_headers, get_body), (_, post_path, post_headers, post_body) = seen
    assert (get_method, get_path, get_body) == ("GET", "/api/v2/groups?a=b+c", b"")
    assert get_headers["User-Agent"].startswith("trunk-capacity-exporter/")
    assert get_headers["Api-Key"] == "k"
    assert "gzip" in get_headers["Accept-Encoding"]
    assert "Content-Length" not in get_headers
    assert post_path == "/api/v2/auth/token"
    assert post_headers["Content-Type"] == "application/json"
    assert post_headers["X-Extra"] == "1" and post_headers["Api-Key"] == "k"
    assert int(post_headers["Content-Length"]) == len(post_body)
    assert json.loads(post_body) == {"username": "ü"}


_BASE_URLS = st.sampled_from(
    (
        "http://odin.example/api/v2",
        "https://odin.example:8443/odin/api/v2",
        "http://[::1]:8080/didww/v3",
        "http://odin.example/api v2",
        "http://odin.example/api?tenant=a",
    )
)
_PARAM_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    base_url=_BASE_URLS,
    endpoint=st.sampled_from(("/groups", "/service-providers/trunk-groups", "/dids")),
    params=st.dictionaries(_PARAM_TEXT, _PARAM_TEXT, max_size=4),
)
def test_urls_are_what_requests_would_prepare(
    base_url: str, endpoint: str, params: dict[str, str]
) -> None:
    expected = requests.Request("GET", base_url + endpoint, params=params).prepare().url

    with upstream_session(base_url) as session:
        assert session.url(endpoint, params) == expected


def get_over_tls(url: str, tls: TlsSettings) -> int:
    with upstream_session(url, tls) as session:
        return session.request("GET", "/groups", deadline=Deadline(5)).status


def test_tls_is_verified_against_the_configured_ca_or_the_environments_bundle(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_crt, pki.server_key)
    with echo_server(context) as (url, _):
        with pytest.raises(UpstreamError) as refused:
            get_over_tls(url, TlsSettings())
        assert refused.value.reason == "connection"
        assert "CERTIFICATE_VERIFY_FAILED" in refused.value.detail

        assert get_over_tls(url, TlsSettings(ca_file=pki.ca)) == 200
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert get_over_tls(url, TlsSettings(insecure_skip_verify=True)) == 200
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.ca)
        assert get_over_tls(url, TlsSettings()) == 200


def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    with (
        echo_server() as (url, seen),
        upstream_session(url) as session,
        pytest.raises(UpstreamError) as refused,
    ):
        session.request(
            "GET", "/groups", headers={"Authorization": "a\r\nX: 1"}, deadline=Deadline(5)
        )

    assert refused.value.reason == "internal"
    assert "Authorization header" in refused.value.detail
    assert "a\r\nX" not in str(refused.value) and "X: 1" not in str(refused.value)
    assert seen == []


def answer_lookups(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """`socket.getaddrinfo` answering each of `names` with its addresses (other names and
    addresses as before); returns the names it was asked, in order."""
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_a_hanging_name_lookup_ends_at_the_connect_timeout_as_a_timeout(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    released = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> Any:
        released.wait(10)
        raise socket.gaierror("released")

    clean_proxy_environment.setattr(socket, "getaddrinfo", hang)
    try:
        with upstream_session("http://odin.test/api/v2") as session:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                session.request("GET", "/groups", deadline=Deadline(0.5))
            elapsed = time.monotonic() - started
    finally:
        released.set()
    assert caught.value.reason == "timeout"
    assert elapsed < 0.5 + 0.3


def test_a_name_is_connected_to_by_its_address_and_verified_as_the_name(
    pki: Pki, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    """The connection goes to the address looked up; SNI, Host and the certificate check
    keep the name. The certificate also names 127.0.0.1, so a name it does not hold being
    refused shows the check is made against the name, not the address."""
    asked = answer_lookups(
        clean_proxy_environment, {"localhost": ["127.0.0.1"], "odin.test": ["127.0.0.1"]}
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_crt, pki.server_key)
    server_names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    with echo_server(context) as (url, seen):
        port = port_of(url)
        assert get_over_tls(f"https://localhost:{port}", TlsSettings(ca_file=pki.ca)) == 200
        with pytest.raises(UpstreamError) as refused:
            get_over_tls(f"https://odin.test:{port}", TlsSettings(ca_file=pki.ca))

    assert asked[0] == "localhost" and set(asked[1:]) == {"odin.test"}  # (retried)
    assert server_names[0] == "localhost"
    assert seen[0][2]["Host"] == f"localhost:{port}"
    assert refused.value.reason == "connection"
    assert "odin.test" in refused.value.detail, refused.value.detail


def test_the_addresses_of_a_name_are_tried_in_turn(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    with echo_server() as (url, seen), socket.socket(socket.AF_INET6) as refusing:
        port = port_of(url)
        try:  # bound, never listening: a connection to ::1 there is refused
            refusing.bind(("::1", port))
        except OSError as error:
            if "in use" in str(error):
                pytest.skip(f"[::1]:{port} is another process's")
            # No IPv6: connecting to ::1 fails at once all the same.
        answer_lookups(clean_proxy_environment, {"odin.test": ["::1", "127.0.0.1"]})

        with upstream_session(f"http://odin.test:{port}/api/v2") as session:
            for _ in range(2):  # the second on the connection the first opened
                assert session.request("GET", "/groups", deadline=Deadline(5)).status == 200

    assert targets(seen) == ["/api/v2/groups"] * 2
    assert [headers["Host"] for _, _, headers, _ in seen] == [f"odin.test:{port}"] * 2


def test_a_proxys_name_is_looked_up_within_the_connect_timeout_too(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    released = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def hang_for_the_proxy(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "proxy.test":
            return real_getaddrinfo(host, *args, **kwargs)
        released.wait(10)
        raise socket.gaierror("released")

    clean_proxy_environment.setattr(socket, "getaddrinfo", hang_for_the_proxy)
    clean_proxy_environment.setenv("http_proxy", "http://proxy.test:3128")
    try:
        with upstream_session("http://odin.invalid/api/v2") as session:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                session.request("GET", "/groups", deadline=Deadline(0.5))
            elapsed = time.monotonic() - started
    finally:
        released.set()
    assert caught.value.reason == "timeout"
    assert elapsed < 0.5 + 0.3
