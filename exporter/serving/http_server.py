"""The HTTP/1.1 server that runs the WSGI app: bounded, with a timeout on every wait.

One asyncio event loop holds every connection: accepting, the TLS handshake, reading the
request head and waiting between keep-alive requests cost no thread, so idle, silent and
slow-header clients cannot use up the workers. Only a complete, well-formed request reaches a
worker thread, and the workers are for running the app and rendering, not for waiting: a body
that waits for a collection (`Deferred`) waits on the loop, and stops waiting when its client
hangs up; an answer is rendered in batches that the loop sends, each before the next is
rendered, so a slow reader holds its connection and one batch, not a worker. At shutdown,
whatever still waits after the grace is cut off, and nothing a worker does outlives the loop.

Limits (see `ServingLimits` and docs/security.md): a listen backlog; a bound on open
connections (at the bound, the connection idle longest is closed to make room, and when none
is idle, new connections wait in the kernel's backlog); a bounded pool of request workers plus
a small pool of its own for light requests (the app says which: /-/healthy when it costs no
bcrypt check), so a burst of scrapes or of wrong passwords never delays the health check;
deadlines for the TLS handshake, the request head, an idle keep-alive connection and each write
to a client that stops reading; caps on the head's size and its number of header lines and on
a request body. When the process runs out of file descriptors, accepting pauses and retries
rather than spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from exporter.serving.http_request import ProtocolError, Request, read_request, wsgi_environ
from exporter.serving.http_response import (
    ClientGone,
    Deferred,
    StreamedResponse,
    WsgiApp,
    close_body,
    refusal,
    render_batch,
    start_app,
)

log = logging.getLogger(__name__)

# accept() failures that mean "no file descriptor or memory left": wait, do not spin.
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_RESOURCE_BACKOFF = 0.1
# accept() failures that concern only the connection being accepted.
_CLIENT_ERRORS = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EAGAIN, errno.EPERM}
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
    write_timeout: float = 30.0  # to send a whole answer, from its first byte
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


class _Connection:
    """One client connection; idle while it has no request in a worker."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None


class _ClientProtocol(asyncio.StreamReaderProtocol):
    """A stream protocol that tells when the client hung up (its end of the stream, or the
    connection lost), so that a request waiting for its answer stops waiting."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        super().__init__(reader)
        self.hung_up = asyncio.Event()

    def eof_received(self) -> bool | None:
        self.hung_up.set()
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.hung_up.set()
        super().connection_lost(exc)


class HttpServer:
    """Serves a WSGI app on listening sockets until `shutdown()`; wsgiref-like interface."""

    def __init__(
        self,
        app: WsgiApp,
        sockets: list[socket.socket],
        ssl_context: ssl.SSLContext | None = None,
        limits: ServingLimits = ServingLimits(),
        light: Callable[[dict[str, Any]], bool] | None = None,
        signal_handlers: Mapping[int, Callable[[], None]] | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        """`signal_handlers` run on the event loop (loop.add_signal_handler), never inside a
        signal handler, so they may take locks and log; only in the main thread. `headers`
        (the web config's) go on the answers the server writes itself, as the app puts them
        on its own. `light(environ)` says which requests the small pool of their own runs
        (by default, those for /-/healthy)."""
        self._app = app
        self._headers = tuple(headers)
        self._sockets = sockets
        self._ssl = ssl_context
        self.limits = limits
        self._light = light or _health_request
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

    def serve_forever(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._workers.shutdown(wait=False, cancel_futures=True)
            self._light_workers.shutdown(wait=False, cancel_futures=True)
            self._started.set()  # a server that failed to start must not hang shutdown()
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
        if error.errno in _CLIENT_ERRORS:
            return  # that client left before accept(); the next one is unaffected
        now = time.monotonic()
        if now - self._resource_warned > 60:
            self._resource_warned = now
            log.warning(
                "cannot accept a connection, retrying; lower --web.max-connections or raise "
                "the open files limit",
                extra={"error": error.strerror, "open_connections": len(self._connections)},
            )
        if error.errno in _RESOURCE_ERRORS and self._idle:
            # Free a descriptor now, and keep below this level for a while.
            self._close(next(iter(self._idle)))
            bound = max(1, len(self._connections) - 1)
            self._learned_bound = (bound, now + _LEARNED_BOUND_SECONDS)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(_RESOURCE_BACKOFF)  # nothing to free: wait, never spin

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

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
        cut_off = False
        try:
            reader, writer, protocol = await self._open_streams(sock)
            await self._requests(connection, reader, writer, protocol, address, sock)
        except ClientGone:
            cut_off = True
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # scanners, timeouts and clients that leave: nothing to tell anyone
        except asyncio.CancelledError:
            pass  # evicted to make room, or shutting down
        finally:
            self._release(connection)
            if writer is None:
                sock.close()
            elif cut_off:
                _reset(writer)
            else:
                writer.close()

    async def _open_streams(
        self, sock: socket.socket
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, _ClientProtocol]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.limits.max_header_bytes)
        protocol = _ClientProtocol(reader)
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
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop), protocol

    async def _requests(
        self,
        connection: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        protocol: _ClientProtocol,
        address: Any,
        sock: socket.socket,
    ) -> None:
        timeout = self.limits.read_header_timeout
        while True:
            try:
                limits = self.limits
                request = await asyncio.wait_for(
                    read_request(
                        reader, limits.max_header_bytes, limits.max_headers, limits.max_body_bytes
                    ),
                    timeout,
                )
            except ProtocolError as error:
                await self._refuse(writer, error)
                return
            received_at = time.monotonic()
            self._idle.pop(connection, None)
            scheme = "https" if self._ssl else "http"
            environ = wsgi_environ(request, sock.getsockname(), address, scheme, received_at)
            keep_alive = await self._run(environ, request, writer, protocol)
            if not keep_alive or self._stopping():
                return  # at shutdown an answer in progress ends its connection
            self._idle[connection] = None
            self._room_changed()
            # Between requests the wait for the whole next head is the idle timeout.
            timeout = self.limits.idle_timeout

    async def _run(
        self,
        environ: dict[str, Any],
        request: Request,
        writer: asyncio.StreamWriter,
        protocol: _ClientProtocol,
    ) -> bool:
        """Answer one request; whether the connection may carry another.

        Workers only run the app and render its answer: a body that waits for a collection
        waits here, on the loop, and every batch is sent from here, so neither a slow upstream
        nor a slow reader holds a worker.
        """
        loop = asyncio.get_running_loop()
        light = self._light(environ)
        workers = self._light_workers if light else self._workers
        response = StreamedResponse(request)
        body = await loop.run_in_executor(workers, start_app, self._app, environ, response)
        try:
            if isinstance(body, Deferred) and not await _ready(body, protocol):
                raise ClientGone  # it hung up while its answer was being collected
            await self._send(workers, body, response, writer, environ["PATH_INFO"])
        finally:
            if body is not None:
                with contextlib.suppress(RuntimeError):  # the workers are shut down
                    workers.submit(close_body, body)
        return response.keep_alive and request.keep_alive

    async def _send(
        self,
        workers: ThreadPoolExecutor,
        body: Any,
        response: StreamedResponse,
        writer: asyncio.StreamWriter,
        path: str,
    ) -> None:
        """Render in batches and send each. The whole answer must be sent within
        write_timeout of its first byte, however large it is and however slowly it is read."""
        loop = asyncio.get_running_loop()
        batches = iter(body) if body is not None else iter(())
        send_by: float | None = None
        while True:
            data, done = await loop.run_in_executor(workers, render_batch, batches, response, path)
            if data:
                send_by = send_by or time.monotonic() + self.limits.write_timeout
                await self._write(writer, data, send_by - time.monotonic())
            if done:
                return

    async def _refuse(self, writer: asyncio.StreamWriter, error: ProtocolError) -> None:
        writer.write(refusal(error, self._headers))
        await asyncio.wait_for(writer.drain(), self.limits.write_timeout)

    async def _write(self, writer: asyncio.StreamWriter, data: bytes, timeout: float) -> None:
        if writer.transport.is_closing() or timeout <= 0:
            raise ClientGone
        writer.write(data)
        try:
            await asyncio.wait_for(writer.drain(), timeout)
        except (TimeoutError, ConnectionError) as error:
            raise ClientGone from error


async def _ready(body: Deferred, protocol: _ClientProtocol) -> bool:
    """Wait until `body` is ready (or its time is up); False when the client hung up first."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake(_: object) -> None:  # on the thread that finished the collection
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(ready.set)

    body.ready.add_done_callback(wake)
    waits = {asyncio.ensure_future(ready.wait()), asyncio.ensure_future(protocol.hung_up.wait())}
    try:
        timeout = max(0.0, body.ready_by - time.monotonic())
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return not protocol.hung_up.is_set()


def _health_request(environ: dict[str, Any]) -> bool:
    return bool(environ["PATH_INFO"] == "/-/healthy")


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close at once, dropping what is still buffered for the client (a reset rather than a
    close, so the kernel does not keep trying to deliver an answer the client would not take)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connection errors (resets, failed handshakes) are the clients' business, not the log's."""
    if isinstance(context.get("exception"), (OSError, TimeoutError)):
        log.debug("connection error", extra={"error": str(context.get("exception"))})
        return
    loop.default_exception_handler(context)
