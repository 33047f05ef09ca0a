"""One WSGI answer, rendered in batches by worker threads and sent by the event loop.

A worker never writes to a socket: `start_app` runs the app, each `render_batch` takes about
BATCH_BYTES of its body (framed for the wire), and the server's event loop sends each batch
before it asks a worker for the next. So a client that reads slowly holds no worker, only its
connection and the batch it has not read yet.

The head goes out with the start of the body. Without a Content-Length the body is sent in
chunked encoding on HTTP/1.1, and until the connection closes on HTTP/1.0. Small chunks are
gathered up to FLUSH_BYTES, so a body of many little pieces costs few writes, and an app that
fails before that much was rendered still gets a clean 500.

A body may say that it is not ready to render yet: an iterable with a `ready` future (a
concurrent.futures.Future) and `ready_by` (time.monotonic()) is iterated only once `ready` is
done or `ready_by` has passed, and the server waits for that without a worker (`Deferred`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from email.utils import formatdate
from typing import Any, Protocol, runtime_checkable

from exporter.serving.http_request import ProtocolError, Request

log = logging.getLogger(__name__)

# A streamed body goes out in pieces of at least this size (the last one may be smaller).
FLUSH_BYTES = 64 * 1024
# What one worker renders before the event loop sends it: the most a connection holds unsent.
BATCH_BYTES = 4 * FLUSH_BYTES

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClientGone(Exception):
    """The client closed the connection or stopped reading."""


@runtime_checkable
class Deferred(Protocol):
    """A body to iterate once `ready` is done, or at `ready_by` (time.monotonic()) at the
    latest; until then it waits on the event loop, not in a worker."""

    ready: Future[None]
    ready_by: float

    def __iter__(self) -> Iterator[bytes]: ...


class StreamedResponse:
    """An answer's bytes as they are rendered, framed for the wire; `take()` hands them over."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self._out: list[bytes] = []
        self.pending = 0  # bytes rendered and not yet taken
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
        if self._buffered >= FLUSH_BYTES:
            self._flush(final=False)

    def finish(self) -> None:
        self._flush(final=True)

    def take(self) -> bytes:
        data = b"".join(self._out)
        self._out, self.pending = [], 0
        return data

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
            self._out.append(data)
            self.pending += len(data)

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


def start_app(app: WsgiApp, environ: dict[str, Any], response: StreamedResponse) -> Any:
    """Call `app`; its body, or None when it failed (its 500 is then in `response`)."""
    try:
        return app(environ, response.start_response)
    except Exception:
        log.exception("the app failed", extra={"path": environ["PATH_INFO"][:100]})
        response.fail()
        return None


def render_batch(
    body: Iterator[bytes], response: StreamedResponse, path: str
) -> tuple[bytes, bool]:
    """About BATCH_BYTES more of the answer, and whether that was the end of it."""
    try:
        for chunk in body:
            if chunk:
                response.write(chunk)
            if response.pending >= BATCH_BYTES:
                return response.take(), False
        response.finish()
    except Exception:
        log.exception("the app failed while answering", extra={"path": path[:100]})
        response.fail()
    return response.take(), True


def close_body(body: Iterable[bytes]) -> None:
    """PEP 3333: the server closes the app's iterable, which ends a generator whose client
    left; what closing raises concerns nobody any more."""
    close = getattr(body, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


def refusal(error: ProtocolError, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The whole answer to a request the server refuses before any app sees it."""
    body = f"{error}\n".encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (
        f"HTTP/1.1 {error.status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
