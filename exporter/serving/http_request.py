"""One HTTP/1.x request read from a stream: strictly, within bounds, and as a WSGI environ.

Anything malformed or too large is a `ProtocolError` carrying the status to answer with;
the caller closes the connection after it. Only HTTP/1.0 and 1.1, requests to a path (no
absolute URL, no `*`), header names that are tokens, values without control characters, no
folded lines, no repeated or list-valued Content-Length, and no chunked request bodies.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

# The environ key where the server records when the request was read (time.monotonic()), so
# the app can take the time the request waited for a worker off its deadline.
RECEIVED_AT = "exporter.received_at"

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")


class ProtocolError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
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


async def read_request(
    reader: asyncio.StreamReader, max_header_bytes: int, max_headers: int, max_body_bytes: int
) -> Request:
    """The next request; `reader`'s limit must be `max_header_bytes`."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise ProtocolError(
            "431 Request Header Fields Too Large",
            f"request line and headers exceed {max_header_bytes} bytes",
        ) from None
    request = parse_head(head, max_headers)
    length = request.header("content-length")
    if request.header("transfer-encoding") is not None:
        raise ProtocolError("501 Not Implemented", "chunked request bodies are not accepted")
    if length is not None:
        if not (length.isascii() and length.isdigit()):  # "²" is a digit to isdigit
            raise ProtocolError("400 Bad Request", "Content-Length is not a number")
        if int(length) > max_body_bytes:
            raise ProtocolError(
                "413 Content Too Large", f"request body exceeds {max_body_bytes} bytes"
            )
        request.body = await reader.readexactly(int(length))
    return request


def parse_head(head: bytes, max_headers: int) -> Request:
    """The request line and headers, `head` ending with the empty line."""
    lines = head[:-4].split(b"\r\n")
    if len(lines) - 1 > max_headers:
        raise ProtocolError(
            "431 Request Header Fields Too Large", f"more than {max_headers} header lines"
        )
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1].startswith(b"/"):
        raise ProtocolError("400 Bad Request", "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise ProtocolError("505 HTTP Version Not Supported", "only HTTP/1.0 and 1.1")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise ProtocolError("400 Bad Request", "malformed header line")
        headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
    return Request(method.decode("ascii"), target, version.decode("ascii"), headers, b"")


def wsgi_environ(
    request: Request, local: Any, remote: Any, scheme: str, received_at: float
) -> dict[str, Any]:
    """The PEP 3333 environ; `local` and `remote` are socket addresses (remote may be None)."""
    path, _, query = request.target.partition(b"?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": str(local[0]),
        "SERVER_PORT": str(local[1]),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": str(remote[0]) if remote else "",
        "REMOTE_PORT": str(remote[1]) if remote else "",
        "CONTENT_TYPE": request.header("content-type") or "",
        "CONTENT_LENGTH": str(len(request.body)) if request.body else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        RECEIVED_AT: received_at,
    }
    # One pass: a header given several times is joined, as `Request.header` joins it.
    values: dict[str, list[str]] = {}
    for name, value in request.headers:
        values.setdefault(name, []).append(value)
    for name, given in values.items():
        key = "HTTP_" + name.upper().replace("-", "_")
        if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") and key not in environ:
            environ[key] = ", ".join(given)
    return environ
