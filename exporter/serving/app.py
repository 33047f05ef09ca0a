"""HTTP: the landing page, /metrics, /probe, /-/healthy and /-/reload, as a WSGI app.

Everything a client sends (path, method, query, Accept, Accept-Encoding and
X-Prometheus-Scrape-Timeout-Seconds) is read and checked before a collection starts, so a bad
request costs no upstream call and gets a 4xx with a one-line reason; only a bug answers 500.
The exposition is streamed as byte chunks without a Content-Length (the server sends it
chunked), gzipped on the fly when asked. With a web config, every path asks for basic auth, and
a rate limit answers 429 beyond its bucket on every path but /-/healthy (before any bcrypt is
spent). The HTTP server that runs this app is `exporter.serving.http_server`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from exporter import __version__
from exporter.chain import describe_check
from exporter.config.section import ConfigError
from exporter.core.deadline import Deadline
from exporter.scrape.running import Exporter, PendingScrape
from exporter.serving.http_request import RECEIVED_AT
from exporter.serving.negotiation import gzip_accepted, negotiate
from exporter.serving.rate_limit import TokenBucket
from exporter.serving.status_page import render_status_page
from exporter.serving.web_config import REALM, BasicAuth

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 2048
# Never wait less than this, whatever the header says: a scrape needs a few round trips.
MIN_DEADLINE = 1.0
MAX_DEADLINE = 300.0
# The liveness probe's path: never rate limited, and answered by workers of its own when it
# costs nothing (see ExporterApp.light).
HEALTH_PATH = "/-/healthy"

StartResponse = Callable[..., Any]


class HttpError(Exception):
    def __init__(self, status: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or []


@dataclass
class Response:
    status: str
    content_type: str
    body: bytes | Iterable[bytes]  # an iterable is streamed, without a Content-Length
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ScrapeTimeouts:
    default: float = 10.0  # when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds
    offset: float = 0.5  # kept back from Prometheus' timeout to render and send the answer

    def seconds(self, header: str | None) -> float:
        """The collection's budget from the header; HttpError when the header is no number."""
        if header is None:
            return self.default
        try:
            timeout = float(header)
        except ValueError:
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise HttpError(
                "400 Bad Request",
                "X-Prometheus-Scrape-Timeout-Seconds: expected a positive number of seconds",
            )
        return timeout - self.offset

    def deadline(self, header: str | None, waited: float = 0.0) -> Deadline:
        """`waited`: how long the request already queued before it reached the app."""
        seconds = self.seconds(header) - waited
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
        rate_limiter: TokenBucket | None = None,
    ) -> None:
        self._exporter = exporter
        self._timeouts = timeouts
        self._reload = reload
        self._auth = auth
        self._rate_limiter = rate_limiter
        self._headers = list(headers)  # the web config's, on every answer
        self._routes: dict[str, tuple[tuple[str, ...], Callable[..., Response]]] = {
            "/": (("GET", "HEAD"), self._landing_page),
            "/metrics": (("GET", "HEAD"), self._metrics),
            "/probe": (("GET", "HEAD"), self._probe),
            HEALTH_PATH: (("GET", "HEAD"), self._healthy),
            "/-/reload": (("POST", "PUT"), self._reload_config),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self._dispatch(environ)
        except HttpError as error:
            response = Response(
                error.status, "text/plain; charset=utf-8", f"{error}\n".encode(), error.headers
            )
        except Exception:
            log.exception("request failed", extra={"path": environ.get("PATH_INFO", "")[:100]})
            response = Response(
                "500 Internal Server Error",
                "text/plain; charset=utf-8",
                b"internal error; see the exporter's log\n",
            )
        headers = [("Content-Type", response.content_type), *response.headers, *self._headers]
        body = response.body
        if isinstance(body, bytes):
            headers.append(("Content-Length", str(len(body))))
            body = [body]
        start_response(response.status, headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            if isinstance(body, ScrapeBody):
                return body.head_only()  # answered once its collections are in, as a GET
            _close(body)
            return []
        return body

    def light(self, environ: dict[str, Any]) -> bool:
        """Whether the request costs next to nothing: /-/healthy with no bcrypt check to run
        (no basic auth, or a credential already verified). The server runs these on workers
        of their own, so wrong passwords, each a bcrypt check, never queue ahead of the
        liveness probe."""
        if environ.get("PATH_INFO") != HEALTH_PATH:
            return False
        return self._auth is None or self._auth.known(environ.get("HTTP_AUTHORIZATION"))

    def _dispatch(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO", "")
        if self._rate_limiter is not None and path != HEALTH_PATH:
            _take_token(self._rate_limiter)
        if self._auth is not None and not self._auth.check(environ.get("HTTP_AUTHORIZATION")):
            # The same answer whichever part was wrong: nothing to learn about usernames.
            challenge = ("WWW-Authenticate", f'Basic realm="{REALM}"')
            raise HttpError("401 Unauthorized", "unauthorized", [challenge])
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

    def _metrics(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Response:
        _allow_parameters(query, set())
        return self._render(environ, target=None)

    def _probe(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Response:
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

    def _render(self, environ: dict[str, Any], target: str | None) -> Response:
        # Everything the client sent is read before the collection starts.
        exposition = negotiate(environ.get("HTTP_ACCEPT"))
        gzipped = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING"))
        received_at = environ.get(RECEIVED_AT)
        waited = time.monotonic() - received_at if isinstance(received_at, float) else 0.0
        header = environ.get("HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS")
        deadline = self._timeouts.deadline(header, waited)
        pending = self._exporter.start_scrape(deadline, target)
        chunks = ScrapeBody(pending, openmetrics=exposition.format == "openmetrics", gzip=gzipped)
        headers = [("Vary", "Accept, Accept-Encoding")]
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
        return Response("200 OK", exposition.content_type, chunks, headers)

    def _healthy(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Response:
        return Response("200 OK", "text/plain; charset=utf-8", b"Healthy\n")

    def _reload_config(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Response:
        if self._reload is None:
            raise HttpError("400 Bad Request", "nothing to reload: no --config.file in use")
        try:
            self._reload()
        except ConfigError as error:
            message = f"config reload failed, old config kept: {error}"
            raise HttpError("400 Bad Request", message) from None
        return Response("200 OK", "text/plain; charset=utf-8", b"config reloaded\n")

    def _landing_page(self, environ: dict[str, Any], query: dict[str, list[str]]) -> Response:
        statuses = self._exporter.status()
        unresolved = [describe_check(check) for check in self._exporter.unresolved_links()]
        page = render_status_page(
            statuses, self._exporter.reload_state, __version__, time.time(), unresolved
        )
        # The state changes with every scrape: a cached copy would show an old one.
        return Response("200 OK", "text/html; charset=utf-8", page, [("Cache-Control", "no-store")])


class ScrapeBody:
    """The exposition of a scrape whose collections are still running.

    Iterating it waits for them (at most until their deadline); the exporter's HTTP server
    waits on its event loop instead, for `ready` or `ready_by`, so that no worker thread is
    held by a slow upstream (`exporter.serving.http_response.Deferred`).
    """

    def __init__(self, pending: PendingScrape, openmetrics: bool, gzip: bool) -> None:
        self._pending = pending
        self._openmetrics = openmetrics
        self._gzip = gzip
        self.ready = pending.ready
        self.ready_by = pending.ready_by
        self._chunks: Generator[bytes] | None = None
        self._head = False

    def __iter__(self) -> Iterator[bytes]:
        """A generator: nothing is waited for before its first item is asked for."""
        self._chunks = self._generate()
        return self._chunks

    def head_only(self) -> ScrapeBody:
        """The same wait, and no data (an answer to HEAD)."""
        self._head = True
        return self

    def _generate(self) -> Generator[bytes]:
        scrape = self._pending.result()
        if not self._head:
            yield from scrape.chunks(openmetrics=self._openmetrics, gzip=self._gzip)

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()


def _take_token(bucket: TokenBucket) -> None:
    wait = bucket.take()
    if wait is None:
        return
    retry = [("Retry-After", str(max(1, math.ceil(wait))))] if math.isfinite(wait) else []
    raise HttpError("429 Too Many Requests", "too many requests: see rate_limit", retry)


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def _parse_query(query_string: str) -> dict[str, list[str]]:
    if len(query_string) > MAX_QUERY_LENGTH:
        raise HttpError("414 URI Too Long", f"query string longer than {MAX_QUERY_LENGTH} bytes")
    try:
        # WSGI (PEP 3333) hands the raw query over as latin-1; undo that before decoding.
        raw = query_string.encode("latin-1").decode("ascii")
        return parse_qs(raw, keep_blank_values=True, errors="strict", max_num_fields=20)
    except (UnicodeError, ValueError):
        raise HttpError("400 Bad Request", "query string is not valid URL-encoded UTF-8") from None


def _allow_parameters(query: dict[str, list[str]], allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise HttpError("400 Bad Request", f"unknown query parameter {unknown[0][:50]!r}")
