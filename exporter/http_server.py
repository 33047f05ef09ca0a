"""The HTTP/1.1 server that runs the WSGI app: bounded, with a timeout on every wait.

One asyncio event loop holds every connection: accepting, the TLS handshake, reading the
request head and waiting between keep-alive requests cost no thread, so idle, silent and
slow-header clients cannot use up the workers. Only a complete, well-formed request reaches a
worker thread, which runs the app and streams its answer back through the loop.

Limits (see `ServingLimits` and docs/security.md): a listen backlog; a bound on open
connections (at the bound, the connection idle longest is closed to make room, and when none
is idle, new connections wait in the kernel's backlog); a bounded pool of request workers plus
a small pool of its own for /-/healthy, so a burst of scrapes never delays the health check;
deadlines for the TLS handshake, the request head, an idle keep-alive connection and each write
to a client that stops reading; caps on the head's size and its number of header lines and on
a request body. When the process runs out of file descriptors, accepting pauses and retries
rather than spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import logging
import re
import resource
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger(__name__)

# The environ key where the server records when the request was read (time.monotonic()), so
# the app can take the time the request waited for a worker off its deadline.
RECEIVED_AT = "exporter.received_at"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# accept() failures that mean "no file descriptor or memory left": wait, do not spin.
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_RESOURCE_BACKOFF = 0.1
# A streamed body goes out in pieces of at least this size (the last one may be smaller).
_FLUSH_BYTES = 64 * 1024
# After accept() ran out of descriptors, the connection bound stays at what fitted for this
# long, so each new client is let in by closing an idle one rather than by another EMFILE.
_LEARNED_BOUND_SECONDS = 30.0


@dataclass(frozen=True)
class ServingLimits:
    backlog: int = 1024  # connections the kernel queues before accept()
    max_connections: int = 512  # open client connections
    max_requests: int = 16  # requests the app runs at once (worker threads)
    tls_handshake_timeout: float = 5.0
    read_header_timeout: float = 5.0  # from accept (or the first byte) to the end of the head
    idle_timeout: float = 10.0  # keep-alive: between the end of an answer and the next request
    write_timeout: float = 10.0  # for each write to a client that does not read
    shutdown_grace: float = 3.0  # for answers in progress at shutdown
    max_header_bytes: int = 16384  # request line and headers
    max_headers: int = 100
    max_body_bytes: int = 65536


# File descriptors kept back from client connections for upstream connections, the config,
# certificates and logs, when the open files limit is what bounds connections.
FD_RESERVE = 64


def fit_to_open_files(limits: ServingLimits) -> ServingLimits:
    """`limits` with max_connections lowered to fit the process's open files limit, so the
    bound is reached (and handled) before accept() runs out of descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits
    room = soft - FD_RESERVE if soft > 2 * FD_RESERVE else soft // 2
    return replace(limits, max_connections=min(limits.max_connections, room))


class _ProtocolError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class _ClientGone(Exception):
    """The client closed the connection or stopped reading."""


@dataclass
class _Request:
    method: str
    target: bytes
    version: str
    headers: list[tuple[str, str]]  # names lower case
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        tokens = {token.strip().lower() for token in (self.header("connection") or "").split(",")}
        return self.version == "HTTP/1.1" and "close" not in tokens


class _Connection:
    """One client connection; idle while it has no request in a worker."""

    def __init__(self, task: asyncio.Task[None] | None = None) -> None:
        self.task = task
        self.busy = False


class HttpServer:
    """Serves a WSGI app on listening sockets until `shutdown()`; wsgiref-like interface."""

    def __init__(
        self,
        app: WsgiApp,
        sockets: list[socket.socket],
        ssl_context: ssl.SSLContext | None = None,
        limits: ServingLimits = ServingLimits(),
        light_paths: frozenset[str] = frozenset({"/-/healthy"}),
        signal_handlers: Mapping[int, Callable[[], None]] | None = None,
    ) -> None:
        """`signal_handlers` run on the event loop (loop.add_signal_handler), never inside a
        signal handler, so they may take locks and log; only in the main thread."""
        self._app = app
        self._sockets = sockets
        self._ssl = ssl_context
        self.limits = limits
        self._light_paths = light_paths
        self._signal_handlers = dict(signal_handlers or {})
        self._workers = ThreadPoolExecutor(limits.max_requests, thread_name_prefix="http")
        self._light_workers = ThreadPoolExecutor(2, thread_name_prefix="http-light")
        self._connections: dict[_Connection, None] = {}  # insertion order: oldest first
        self._idle: dict[_Connection, None] = {}  # ordered by when each became idle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._room: asyncio.Event | None = None
        self._started = threading.Event()
        self._stopped = threading.Event()
        self._resource_warned = 0.0
        self._learned_bound = (limits.max_connections, 0.0)  # (bound, valid until)

    @property
    def server_address(self) -> tuple[Any, ...]:
        return tuple(self._sockets[0].getsockname())

    @property
    def addresses(self) -> list[tuple[Any, ...]]:
        return [tuple(sock.getsockname()) for sock in self._sockets]

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def serve_forever(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._workers.shutdown(wait=False, cancel_futures=True)
            self._light_workers.shutdown(wait=False, cancel_futures=True)
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serving and wait for serve_forever() to return; call from another thread."""
        self._started.wait()
        self.stop_soon()
        self._stopped.wait()

    def stop_soon(self) -> None:
        """Ask serve_forever() to return; from any thread, without waiting."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not self._stopped.is_set():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)

    def server_close(self) -> None:
        for sock in self._sockets:
            sock.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_quiet_exception_handler)
        self._stop, self._room = asyncio.Event(), asyncio.Event()
        for signum, handler in self._signal_handlers.items():
            self._loop.add_signal_handler(signum, handler)
        accepting = [asyncio.create_task(self._accept_loop(sock)) for sock in self._sockets]
        self._started.set()
        await self._stop.wait()
        for task in accepting:
            task.cancel()
        for connection in list(self._idle):
            self._close(connection)
        busy = [c.task for c in self._connections if c.task is not None]
        if busy:
            await asyncio.wait(busy, timeout=self.limits.shutdown_grace)
        for connection in list(self._connections):
            self._close(connection)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        assert self._room is not None
        while True:
            while len(self._connections) >= self._bound() and not self._idle:
                self._room.clear()
                await self._room.wait()
            try:
                sock, address = await loop.sock_accept(listener)
            except OSError as error:
                await self._accept_failed(error)
                continue
            if len(self._connections) >= self._bound() and self._idle:
                self._close(next(iter(self._idle)))
            connection = _Connection()
            self._connections[connection] = None
            self._idle[connection] = None
            connection.task = asyncio.create_task(self._handle(connection, sock, address))

    def _bound(self) -> int:
        bound, until = self._learned_bound
        return bound if time.monotonic() < until else self.limits.max_connections

    async def _accept_failed(self, error: OSError) -> None:
        if error.errno not in _RESOURCE_ERRORS:
            return  # the client left before accept() (ECONNABORTED and the like)
        now = time.monotonic()
        if now - self._resource_warned > 60:
            self._resource_warned = now
            log.warning(
                "cannot accept a connection, retrying; lower --web.max-connections or raise "
                "the open files limit",
                extra={"error": error.strerror, "open_connections": len(self._connections)},
            )
        if self._idle:
            # Free a descriptor now, and keep below this level for a while.
            self._close(next(iter(self._idle)))
            bound = max(1, len(self._connections) - 1)
            self._learned_bound = (bound, now + _LEARNED_BOUND_SECONDS)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(_RESOURCE_BACKOFF)  # nothing to free: wait, never spin

    def _close(self, connection: _Connection) -> None:
        """Cancel the connection's task; its `finally` releases the socket and the slot."""
        self._idle.pop(connection, None)
        if connection.task is not None:
            connection.task.cancel()

    def _release(self, connection: _Connection) -> None:
        self._connections.pop(connection, None)
        self._idle.pop(connection, None)
        self._room_changed()

    def _room_changed(self) -> None:
        """Wake the accept loops waiting at the connection bound."""
        if self._room is not None:
            self._room.set()

    async def _handle(self, connection: _Connection, sock: socket.socket, address: Any) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await self._open_streams(sock)
            await self._requests(connection, reader, writer, address, sock)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, _ClientGone):
            pass  # scanners, timeouts and clients that leave: nothing to tell anyone
        except asyncio.CancelledError:
            pass  # evicted to make room, or shutting down
        finally:
            self._release(connection)
            if writer is not None:
                writer.close()
            else:
                sock.close()

    async def _open_streams(
        self, sock: socket.socket
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.limits.max_header_bytes)
        protocol = asyncio.StreamReaderProtocol(reader)
        if self._ssl is None:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock)
        else:
            timeout = self.limits.tls_handshake_timeout
            # asyncio's own handshake timeout, and wait_for as well: asyncio's fires only once
            # the TLS machinery is set up, and a client that sends nothing never gets that far.
            transport, _ = await asyncio.wait_for(
                loop.connect_accepted_socket(
                    lambda: protocol,
                    sock,
                    ssl=self._ssl,
                    ssl_handshake_timeout=timeout,
                    ssl_shutdown_timeout=timeout,
                ),
                timeout,
            )
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _requests(
        self,
        connection: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        address: Any,
        sock: socket.socket,
    ) -> None:
        timeout = self.limits.read_header_timeout
        while True:
            try:
                request = await asyncio.wait_for(self._read_request(reader), timeout)
            except _ProtocolError as error:
                await self._refuse(writer, error)
                return
            received_at = time.monotonic()
            self._idle.pop(connection, None)
            connection.busy = True
            environ = self._environ(request, address, sock, received_at)
            keep_alive = await self._run(environ, request, writer)
            connection.busy = False
            if not keep_alive:
                return
            self._idle[connection] = None
            self._room_changed()
            # Between requests the wait for the whole next head is the idle timeout.
            timeout = self.limits.idle_timeout

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _ProtocolError(
                "431 Request Header Fields Too Large",
                f"request line and headers exceed {self.limits.max_header_bytes} bytes",
            ) from None
        request = self._parse_head(head)
        length = request.header("content-length")
        if request.header("transfer-encoding") is not None:
            raise _ProtocolError("501 Not Implemented", "chunked request bodies are not accepted")
        if length is not None:
            if not length.isdigit():
                raise _ProtocolError("400 Bad Request", "Content-Length is not a number")
            if int(length) > self.limits.max_body_bytes:
                raise _ProtocolError(
                    "413 Content Too Large",
                    f"request body exceeds {self.limits.max_body_bytes} bytes",
                )
            request.body = await reader.readexactly(int(length))
        return request

    def _parse_head(self, head: bytes) -> _Request:
        lines = head[:-4].split(b"\r\n")
        if len(lines) - 1 > self.limits.max_headers:
            raise _ProtocolError(
                "431 Request Header Fields Too Large",
                f"more than {self.limits.max_headers} header lines",
            )
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1].startswith(b"/"):
            raise _ProtocolError("400 Bad Request", "malformed request line")
        method, target, version = parts
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise _ProtocolError("505 HTTP Version Not Supported", "only HTTP/1.0 and 1.1")
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
                raise _ProtocolError("400 Bad Request", "malformed header line")
            headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
        return _Request(method.decode("ascii"), target, version.decode("ascii"), headers, b"")

    def _environ(
        self, request: _Request, address: Any, sock: socket.socket, received_at: float
    ) -> dict[str, Any]:
        path, _, query = request.target.partition(b"?")
        local = sock.getsockname()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_NAME": str(local[0]),
            "SERVER_PORT": str(local[1]),
            "SERVER_PROTOCOL": request.version,
            "REMOTE_ADDR": str(address[0]) if address else "",
            "REMOTE_PORT": str(address[1]) if address else "",
            "CONTENT_TYPE": request.header("content-type") or "",
            "CONTENT_LENGTH": str(len(request.body)) if request.body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self._ssl else "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            RECEIVED_AT: received_at,
        }
        for name, _ in request.headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") and key not in environ:
                environ[key] = request.header(name)
        return environ

    async def _run(
        self, environ: dict[str, Any], request: _Request, writer: asyncio.StreamWriter
    ) -> bool:
        """Run the app in a worker; whether the connection may carry another request."""
        loop = asyncio.get_running_loop()
        light = environ["PATH_INFO"] in self._light_paths
        response = _Response(self, writer, loop, request)
        await loop.run_in_executor(
            self._light_workers if light else self._workers, self._call_app, environ, response
        )
        return response.keep_alive and request.keep_alive

    def _call_app(self, environ: dict[str, Any], response: _Response) -> None:
        """In a worker thread: run the app and stream its answer to the client."""
        try:
            result = self._app(environ, response.start_response)
        except Exception:
            log.exception("the app failed", extra={"path": environ["PATH_INFO"][:100]})
            response.fail()
            return
        try:
            for chunk in result:
                if chunk:
                    response.write(chunk)
            response.finish()
        except _ClientGone:
            response.keep_alive = False  # closing `result` below ends its generator
        except Exception:
            log.exception("the app failed while answering", extra={"path": environ["PATH_INFO"]})
            response.fail()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    async def _refuse(self, writer: asyncio.StreamWriter, error: _ProtocolError) -> None:
        body = f"{error}\n".encode()
        head = (
            f"HTTP/1.1 {error.status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await asyncio.wait_for(writer.drain(), self.limits.write_timeout)

    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if writer.transport.is_closing():
            raise _ClientGone
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.limits.write_timeout)


class _Response:
    """One answer, written from a worker thread through the event loop: the head with the
    start of the body, a streamed body in chunked encoding (or until close for HTTP/1.0).
    Small chunks are gathered up to _FLUSH_BYTES, so a body of many little pieces costs few
    trips through the loop, and an app that fails early still gets a clean 500."""

    def __init__(
        self,
        server: HttpServer,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
        request: _Request,
    ) -> None:
        self._server = server
        self._writer = writer
        self._loop = loop
        self._request = request
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self._head_sent = False
        self._chunked = False
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.keep_alive = True

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self._head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status, self._headers = status, list(headers)
        return self.write

    def write(self, chunk: bytes) -> None:
        self._buffer.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= _FLUSH_BYTES:
            self._flush(final=False)

    def finish(self) -> None:
        self._flush(final=True)

    def fail(self) -> None:
        """After an error in the app: a 500 if nothing was sent yet, else cut the answer
        short (a chunked body without its last chunk tells the client it is incomplete)."""
        self.keep_alive = False
        if self._head_sent:
            return
        body = b"internal error; see the exporter's log\n"
        self._status = "500 Internal Server Error"
        self._headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        self._buffer, self._buffered = [body], len(body)
        with contextlib.suppress(_ClientGone):
            self._flush(final=True)

    def _flush(self, final: bool) -> None:
        data = b"" if self._head_sent else self._head()
        body = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        if self._request.method != "HEAD":
            if not self._chunked:
                data += body
            elif body:
                data += b"%x\r\n%s\r\n" % (len(body), body)
            if self._chunked and final:
                data += b"0\r\n\r\n"
        if data:
            self._send(data)

    def _head(self) -> bytes:
        if self._status is None:
            raise RuntimeError("the app sent a body before calling start_response")
        self._head_sent = True
        names = {name.lower() for name, _ in self._headers}
        headers = list(self._headers)
        if "content-length" not in names and self._request.method != "HEAD":
            if self._request.version == "HTTP/1.1":
                self._chunked = True
                headers.append(("Transfer-Encoding", "chunked"))
            else:
                self.keep_alive = False  # the end of the body is the end of the connection
        if not (self.keep_alive and self._request.keep_alive):
            headers.append(("Connection", "close"))
        if "date" not in names:
            headers.append(("Date", formatdate(usegmt=True)))
        lines = [f"HTTP/1.1 {self._status}", *(f"{name}: {value}" for name, value in headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, data: bytes) -> None:
        future = asyncio.run_coroutine_threadsafe(
            self._server.write(self._writer, data), self._loop
        )
        try:
            future.result(timeout=self._server.limits.write_timeout + 1)
        except Exception as error:
            future.cancel()
            raise _ClientGone from error


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connection errors (resets, failed handshakes) are the clients' business, not the log's."""
    if isinstance(context.get("exception"), (OSError, TimeoutError)):
        log.debug("connection error", extra={"error": str(context.get("exception"))})
        return
    loop.default_exception_handler(context)
