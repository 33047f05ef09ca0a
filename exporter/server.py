"""HTTP: the landing page, /metrics, /probe, /-/healthy and /-/reload, as a WSGI app.

Exposition format follows the Accept header (text or OpenMetrics) and is gzipped when
asked. Every scrape's deadline comes from Prometheus' X-Prometheus-Scrape-Timeout-Seconds.
Hostile or malformed requests get a 4xx with a one-line reason; only a bug answers 500.
With a web config, every path asks for basic auth and TLS is negotiated per connection.
"""

from __future__ import annotations

import html
import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import gzip_accepted

from exporter import __version__
from exporter.config import ConfigError
from exporter.deadline import Deadline
from exporter.exporter import Exporter
from exporter.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from exporter.web_config import REALM, BasicAuth

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 2048
# Never wait less than this, whatever the header says: a scrape needs a few round trips.
MIN_DEADLINE = 1.0
MAX_DEADLINE = 300.0
# Long enough for a client across the world, short enough that a silent one frees its thread.
HANDSHAKE_TIMEOUT = 5.0

StartResponse = Callable[..., Any]
# status, content type, body (bytes, or chunks to stream), extra headers
Answer = tuple[str, str, bytes | Iterable[bytes], list[tuple[str, str]]]


class HttpError(Exception):
    def __init__(self, status: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or []


@dataclass(frozen=True)
class ScrapeTimeouts:
    default: float = 10.0  # when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds
    offset: float = 0.5  # kept back from Prometheus' timeout to render and send the answer

    def deadline(self, header: str | None) -> Deadline:
        seconds = self.default
        if header:
            try:
                seconds = float(header) - self.offset
            except ValueError:
                seconds = self.default
        if seconds != seconds:  # NaN
            seconds = self.default
        return Deadline(min(MAX_DEADLINE, max(MIN_DEADLINE, seconds)))


class ExporterApp:
    """The WSGI application."""

    def __init__(
        self,
        exporter: Exporter,
        timeouts: ScrapeTimeouts = ScrapeTimeouts(),
        reload: Callable[[], None] | None = None,
        auth: BasicAuth | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._exporter = exporter
        self._timeouts = timeouts
        self._reload = reload
        self._auth = auth
        self._headers = list(headers)  # the web config's, on every answer
        self._routes: dict[str, tuple[tuple[str, ...], Callable[..., Answer]]] = {
            "/": (("GET", "HEAD"), self._landing_page),
            "/metrics": (("GET", "HEAD"), self._metrics),
            "/probe": (("GET", "HEAD"), self._probe),
            "/-/healthy": (("GET", "HEAD"), self._healthy),
            "/-/reload": (("POST", "PUT"), self._reload_config),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, content_type, body, headers = self._dispatch(environ)
            if not isinstance(body, bytes):  # an exposition, streamed as it is written
                start_response(status, [("Content-Type", content_type), *headers, *self._headers])
                return [] if environ.get("REQUEST_METHOD") == "HEAD" else body
        except HttpError as error:
            status, content_type = error.status, "text/plain; charset=utf-8"
            body, headers = f"{error}\n".encode(), error.headers
        except Exception:
            log.exception("request failed", extra={"path": environ.get("PATH_INFO", "")})
            status, content_type, body, headers = (
                "500 Internal Server Error",
                "text/plain; charset=utf-8",
                b"internal error; see the exporter's log\n",
                [],
            )
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *headers,
            *self._headers,
        ]
        start_response(status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _dispatch(self, environ: dict[str, Any]) -> Answer:
        if self._auth is not None and not self._auth.check(environ.get("HTTP_AUTHORIZATION")):
            # The same answer whichever part was wrong: nothing to learn about usernames.
            challenge = ("WWW-Authenticate", f'Basic realm="{REALM}"')
            raise HttpError("401 Unauthorized", "unauthorized", [challenge])
        path = environ.get("PATH_INFO", "")
        if path not in self._routes:
            raise HttpError("404 Not Found", f"no page at {path[:100]!r}")
        methods, handler = self._routes[path]
        if environ.get("REQUEST_METHOD") not in methods:
            raise HttpError(
                "405 Method Not Allowed",
                f"{path} accepts {', '.join(methods)}",
                [("Allow", ", ".join(methods))],
            )
        query = _parse_query(environ.get("QUERY_STRING", ""))
        return handler(environ, query)

    def _metrics(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Answer:
        _allow_parameters(query, set())
        return self._render(environ, target=None)

    def _probe(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Answer:
        _allow_parameters(query, {"target"})
        values = query.get("target", [])
        if len(values) != 1 or not values[0]:
            raise HttpError("400 Bad Request", "give exactly one target parameter")
        target = values[0]
        if not self._exporter.has_target(target):
            raise HttpError(
                "400 Bad Request",
                f"unknown target {target[:100]!r}: /probe accepts only configured target names",
            )
        return self._render(environ, target=target)

    def _render(self, environ: dict[str, Any], target: str | None) -> Answer:
        deadline = self._timeouts.deadline(environ.get("HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"))
        openmetrics = _wants_openmetrics(environ.get("HTTP_ACCEPT", ""))
        gzip = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        scrape = self._exporter.scrape(deadline, target)
        headers = [("Vary", "Accept, Accept-Encoding")]
        if gzip:
            headers.append(("Content-Encoding", "gzip"))
        content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
        return "200 OK", content_type, scrape.chunks(openmetrics, gzip), headers

    def _healthy(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Answer:
        return "200 OK", "text/plain; charset=utf-8", b"Healthy\n", []

    def _reload_config(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Answer:
        if self._reload is None:
            raise HttpError("400 Bad Request", "nothing to reload: no --config.file in use")
        try:
            self._reload()
        except ConfigError as error:
            message = f"config reload failed, old config kept: {error}"
            raise HttpError("400 Bad Request", message) from None
        return "200 OK", "text/plain; charset=utf-8", b"config reloaded\n", []

    def _landing_page(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Answer:
        targets = "".join(
            f'<li><a href="probe?target={quote(name)}">{html.escape(name)}</a></li>'
            for name in self._exporter.target_names
        )
        page = (
            "<!DOCTYPE html><html><head><title>Trunk Capacity Exporter</title></head><body>"
            f"<h1>Trunk Capacity Exporter</h1><p>Version {html.escape(__version__)}</p>"
            '<ul><li><a href="metrics">Metrics</a> (every target)</li>'
            '<li><a href="-/healthy">Health</a></li></ul>'
            f"<h2>Targets</h2><ul>{targets}</ul></body></html>"
        )
        return "200 OK", "text/html; charset=utf-8", page.encode(), []


def _wants_openmetrics(accept: str) -> bool:
    """OpenMetrics 1.0.0 when the client accepts it, else the Prometheus text format."""
    for media_range in accept.split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        if media_type != "application/openmetrics-text":
            continue
        versions = [p.split("=", 1)[1].strip() for p in parameters if p.startswith("version=")]
        if not versions or versions[0].startswith("1."):
            return True
    return False


def _parse_query(query_string: str) -> dict[str, list[str]]:
    if len(query_string) > MAX_QUERY_LENGTH:
        raise HttpError("414 URI Too Long", f"query string longer than {MAX_QUERY_LENGTH} bytes")
    try:
        # wsgiref hands the raw query over as latin-1; undo that before decoding as UTF-8.
        raw = query_string.encode("latin-1").decode("ascii")
        return parse_qs(raw, keep_blank_values=True, errors="strict", max_num_fields=20)
    except (UnicodeError, ValueError):
        raise HttpError("400 Bad Request", "query string is not valid URL-encoded UTF-8") from None


def _allow_parameters(query: dict[str, list[str]], allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise HttpError("400 Bad Request", f"unknown query parameter {unknown[0][:50]!r}")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Access logs stay off: scrapes every few seconds would drown every other event."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context: ssl.SSLContext | None = None
    handshake_timeout = HANDSHAKE_TIMEOUT

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """TLS is negotiated here, in the connection's own thread rather than in accept():
        a slow or silent client then holds up only itself."""
        if self.ssl_context is not None:
            request = self._tls_handshake(self.ssl_context, request, client_address)
            if request is None:
                return
        super().process_request_thread(request, client_address)

    def _tls_handshake(
        self, context: ssl.SSLContext, connection: socket.socket, client_address: Any
    ) -> ssl.SSLSocket | None:
        """The TLS connection, or None once a failed handshake is closed: failures are
        scanners, probes and misconfigured clients, worth a debug line at most."""
        blocking_timeout = connection.gettimeout()
        tls: ssl.SSLSocket | None = None
        try:
            connection.settimeout(self.handshake_timeout)
            tls = context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
            tls.do_handshake()
        except OSError as error:
            log.debug(
                "TLS handshake failed", extra={"client": client_address[0], "error": str(error)}
            )
            (connection if tls is None else tls).close()
            return None
        tls.settimeout(blocking_timeout)
        return tls


class _ThreadingServerV6(_ThreadingServer):
    address_family = socket.AF_INET6


def parse_listen_address(address: str) -> tuple[str, int]:
    """`:10042`, `127.0.0.1:10042` or `[::1]:10042` as (host, port)."""
    host, separator, port_text = address.rpartition(":")
    if not separator or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"invalid listen address {address!r} (expected HOST:PORT or :PORT)")
    return host.strip("[]") or "0.0.0.0", int(port_text)


def create_server(
    app: ExporterApp,
    address: str,
    ssl_context: ssl.SSLContext | None = None,
    handshake_timeout: float = HANDSHAKE_TIMEOUT,
) -> WSGIServer:
    host, port = parse_listen_address(address)
    server_class = _ThreadingServerV6 if ":" in host else _ThreadingServer
    server = make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
    server.ssl_context = ssl_context
    server.handshake_timeout = handshake_timeout
    return server


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
