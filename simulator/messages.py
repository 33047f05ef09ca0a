"""Transport-neutral requests and responses, so the API modules never touch an HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

JSON = "application/json"


@dataclass(frozen=True)
class Request:
    """One request, already routed to an API: `path` is relative to that API's base URL."""

    method: str
    api: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    base_url: str  # the API base as the client addressed it (Host header), for JSON:API links

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Streamed:
    """A body too large to build in memory: produced chunk by chunk (the huge_body fault)."""

    length: int
    chunks: Callable[[], Iterator[bytes]]


@dataclass
class Response:
    status: int
    body: bytes | Streamed = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


class Api(Protocol):
    """One simulated upstream, as the server and the faults use it."""

    content_type: str  # of its JSON answers

    def handle(self, request: Request) -> Response: ...

    def error(self, request: Request, status: int, detail: str) -> Response:
        """An error answer in this API's own format."""
        ...

    def unauthorized(self, request: Request, detail: str = ...) -> Response:
        """The 401 this API gives for an expired or invalid credential."""
        ...

    def data_changed(self) -> None:
        """Forget whatever was derived from the dataset, which a test has edited."""
        ...


class Hang:
    """Answer nothing at all: the server holds the connection until it stops."""


HANG = Hang()


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def json_response(status: int, payload: Any, content_type: str = JSON) -> Response:
    return Response(status, encode_json(payload), content_type)


def reason_phrase(status: int) -> str:
    """The standard phrase for a status, also for the odd ones a fault may ask for."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
