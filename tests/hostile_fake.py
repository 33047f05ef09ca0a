"""A hostile upstream on loopback: each test says what every path answers.

Unlike the simulator, which speaks the documented APIs, this fake answers whatever a test's
handler returns for a request (echoing what it was sent, contradicting itself, sending huge
ids), so a test can play an upstream that misbehaves in ways nothing documents.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def json_answer(status: int, document: Any) -> Answer:
    return Answer(status, json.dumps(document).encode())


Handler = Callable[[Request], Answer]


class HostileUpstream:
    """Routes (method, path) to handlers; an unknown route answers 404. Records every request."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    {key: values[0] for key, values in parse_qs(parts.query).items()},
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                with upstream._lock:
                    upstream.requests.append(request)
                handler = upstream.routes.get((self.command, parts.path))
                answer = handler(request) if handler else json_answer(404, {"error": "no"})
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler

    def start(self) -> HostileUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def hostile_upstream(routes: dict[tuple[str, str], Handler]) -> Iterator[HostileUpstream]:
    upstream = HostileUpstream(routes).start()
    try:
        yield upstream
    finally:
        upstream.stop()
