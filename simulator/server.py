"""The HTTP plumbing: one loopback ThreadingHTTPServer in front of both simulated APIs."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.builders import default_dataset
from simulator.dataset import Dataset
from simulator.didww import DidwwApi
from simulator.faults import Fault, FaultSet, render_fault
from simulator.messages import Api, Hang, Request, Response, Streamed, json_response
from simulator.odin import OdinApi
from simulator.settings import Settings
from simulator.stats import Stats

logger = logging.getLogger(__name__)

API_PREFIXES = {"odin": "/odin/api/v2", "didww": "/didww/v3"}
HANG_SECONDS = 600.0  # a hang fault answers nothing for this long, unless the server stops
IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive connection (or a stalled reader) is kept
MAX_REQUEST_BODY = 1024 * 1024

Answer = Callable[[Request], Response | Hang]


class _Setting:
    """A Simulator attribute that lives in its Settings, so it can change while serving."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Simulator | None, owner: type) -> Any:
        return self if instance is None else getattr(instance.settings, self._name)

    def __set__(self, instance: Simulator, value: Any) -> None:
        setattr(instance.settings, self._name, value)


class Simulator:
    """Simulated Odin and DIDWW upstreams, served over real HTTP on loopback.

    Use as `with Simulator() as sim:` or start()/stop(). The knobs below (latency,
    token_lifetime, password_must_change, didww_rate_limit, didww_max_page_size) apply to the
    next request when changed. The dataset is read per request, except that Odin reports are
    encoded once per SP: call data_changed() after editing the dataset while serving.
    """

    latency = _Setting()
    token_lifetime = _Setting()
    password_must_change = _Setting()
    didww_rate_limit = _Setting()
    didww_max_page_size = _Setting()

    def __init__(
        self,
        dataset: Dataset | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.dataset = dataset if dataset is not None else default_dataset()
        self.settings = Settings(
            latency=latency,
            password_must_change=self.dataset.odin.password_must_change,
            didww_max_page_size=self.dataset.didww.max_page_size,
        )
        self.stats = Stats()
        self._faults = FaultSet()
        self._apis: dict[str, Api] = {
            "odin": OdinApi(self.dataset.odin, self.settings, self.stats),
            "didww": DidwwApi(self.dataset.didww, self.settings),
        }
        self._address = (host, port)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> Simulator:
        """Bind (port 0: a free port) and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        self._stopping.clear()
        self._server = _Server(self._address, self._answer, self.stats, self._stopping)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake hanging requests and close every connection; never blocks long."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- faults and data ---

    def inject(self, fault: Fault) -> None:
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def data_changed(self) -> None:
        """Tell the APIs the dataset was edited (drops cached Odin reports and indexes)."""
        for api in self._apis.values():
            api.data_changed()

    # --- addresses and credentials ---

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:PORT (a wildcard host reads loopback)."""
        host = self._address[0]
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def odin_url(self) -> str:
        return self.url + API_PREFIXES["odin"]

    @property
    def didww_url(self) -> str:
        return self.url + API_PREFIXES["didww"]

    @property
    def odin_username(self) -> str:
        return self.dataset.odin.username

    @property
    def odin_password(self) -> str:
        return self.dataset.odin.password

    @property
    def didww_api_key(self) -> str:
        return self.dataset.didww.api_key

    # --- answering ---

    def _answer(self, request: Request) -> Response | Hang:
        if self.settings.latency > 0:
            self._stopping.wait(self.settings.latency)
        api = self._apis[request.api]
        fault = self._faults.take(request.api, request.path, request.query)
        if fault is None:
            return api.handle(request)
        return render_fault(fault, request, api)


class _Server(ThreadingHTTPServer):
    """A thread per connection; remembers open connections so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        answer: Answer,
        stats: Stats,
        stopping: threading.Event,
    ) -> None:
        self.answer = answer
        self.stats = stats
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can take seconds: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("simulator: error while serving %s", client_address, exc_info=True)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a Request, and the answer back into bytes on the wire."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's pooled sessions expect
    server_version = "trunk-capacity-simulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        self.server.untrack(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator runs inside tests and the demo, where its log is noise."""

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        api, path = _route(url.path)
        if api is None:
            self._send(json_response(404, {"error": "Not Found", "status": 404, "details": path}))
            return
        request = Request(
            method=self.command,
            api=api,
            path=path,
            query={k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=f"http://{self.headers.get('Host') or self._own_host()}{API_PREFIXES[api]}",
        )
        with self.server.stats.track(api, path, request.query):
            answer = self.server.answer(request)
            if isinstance(answer, Hang):
                self.server.stopping.wait(HANG_SECONDS)
                self.close_connection = True  # and never answer
            else:
                self._send(answer)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BODY:
            self.close_connection = True
            self._send(json_response(400, {"error": "Bad Request", "status": 400}))
            return None
        return self.rfile.read(length) if length else b""

    def _own_host(self) -> str:
        host, port = self.server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"[{host_text}]:{port}" if ":" in host_text else f"{host_text}:{port}"

    def _send(self, response: Response) -> None:
        body = response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header(
            "Content-Length", str(body.length if isinstance(body, Streamed) else len(body))
        )
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            if self.command == "HEAD":
                return
            if isinstance(body, Streamed):
                for chunk in body.chunks():
                    self.wfile.write(chunk)
            else:
                self.wfile.write(body)
        except OSError:  # the client went away, e.g. gave up on a huge body
            self.close_connection = True


def _route(url_path: str) -> tuple[str | None, str]:
    """("odin" | "didww", path relative to that API's base), or (None, url_path)."""
    for api, prefix in API_PREFIXES.items():
        if url_path == prefix or url_path.startswith(prefix + "/"):
            return api, url_path[len(prefix) :].rstrip("/") or "/"
    return None, url_path
