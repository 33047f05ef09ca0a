"""Fault injection: answers a misbehaving upstream (or a proxy in front of it) would give."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from simulator.messages import (
    HANG,
    Api,
    Hang,
    Request,
    Response,
    Streamed,
    encode_json,
    reason_phrase,
)

FaultKind = Literal[
    "status",
    "html",
    "hang",
    "malformed_json",
    "truncated_json",
    "wrong_type",
    "huge_body",
    "pagination_loop",
    "expired_token",
    "deep_json",
]
KINDS = frozenset(get_args(FaultKind))
APIS = frozenset({"odin", "didww"})
ANY_PATH = "*"
HUGE_BODY_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass
class Fault:
    """One injected misbehaviour.

    path is relative to the API base, without query ("*" matches every path); every entry of
    match must equal the request's query parameter of that name. times: answer with the fault
    this many times, then normally again; None = for as long as it stays injected.
    """

    api: str
    path: str
    match: dict[str, str] = field(default_factory=dict)
    kind: FaultKind = "status"
    status: int = 500
    retry_after: float | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        self.match = {name: str(value) for name, value in self.match.items()}  # query values
        if self.api not in APIS:
            raise ValueError(f"Fault.api must be one of {sorted(APIS)}, not {self.api!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Fault.kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if self.path != ANY_PATH and not self.path.startswith("/"):
            raise ValueError(f"Fault.path must start with '/' or be '*', not {self.path!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("Fault.times must be at least 1 (or None for always)")

    def matches(self, api: str, path: str, query: Mapping[str, str]) -> bool:
        return (
            api == self.api
            and self.path in (ANY_PATH, path)
            and all(query.get(name) == value for name, value in self.match.items())
        )


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None  # answers left; None = unlimited


class FaultSet:
    """The injected faults, first match wins; consuming a `times` budget is atomic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, api: str, path: str, query: Mapping[str, str]) -> Fault | None:
        """The fault that answers this request, if any, counting it against its budget."""
        with self._lock:
            for armed in self._armed:
                if not armed.fault.matches(api, path, query):
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                return armed.fault
        return None


def render_fault(fault: Fault, request: Request, api: Api) -> Response | Hang:
    """The answer `fault` gives to `request` instead of (or made from) the normal one."""
    answer = _RENDERERS[fault.kind](fault, request, api)
    if fault.retry_after is not None and isinstance(answer, Response):
        answer.headers["Retry-After"] = f"{fault.retry_after:g}"
    return answer


def _status(fault: Fault, request: Request, api: Api) -> Response:
    return api.error(request, fault.status, f"Simulated fault: {reason_phrase(fault.status)}")


def _html(fault: Fault, request: Request, api: Api) -> Response:
    title = f"{fault.status} {reason_phrase(fault.status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(fault.status, page.encode(), "text/html; charset=utf-8")


def _hang(fault: Fault, request: Request, api: Api) -> Hang:
    return HANG


def _malformed_json(fault: Fault, request: Request, api: Api) -> Response:
    return Response(200, b'{"data": [{"id": "1", "attributes": {,]', api.content_type)


def _deep_json(fault: Fault, request: Request, api: Api) -> Response:
    """Valid JSON nested deeper than any decoder's recursion limit: [[[...]]]."""
    depth = 100_000
    return Response(200, b"[" * depth + b"]" * depth, api.content_type)


def _expired_token(fault: Fault, request: Request, api: Api) -> Response:
    return api.unauthorized(request, "Token expired")


def _huge_body(fault: Fault, request: Request, api: Api) -> Response:
    """Valid JSON of HUGE_BODY_BYTES, streamed so the simulator never holds it in memory."""
    head, tail = b'{"padding":"', b'"}'
    filler = HUGE_BODY_BYTES - len(head) - len(tail)

    def chunks() -> Iterator[bytes]:
        yield head
        block = b"x" * _CHUNK
        for _ in range(filler // _CHUNK):
            yield block
        yield b"x" * (filler % _CHUNK)
        yield tail

    return Response(200, Streamed(HUGE_BODY_BYTES, chunks), api.content_type)


def _from_normal(
    transform: Callable[[Response], Response],
) -> Callable[[Fault, Request, Api], Response]:
    """A fault made by altering the normal answer; a non-2xx normal answer passes unchanged."""

    def renderer(fault: Fault, request: Request, api: Api) -> Response:
        normal = api.handle(request)
        if not 200 <= normal.status < 300 or not isinstance(normal.body, bytes):
            return normal
        return transform(normal)

    return renderer


def _truncate(normal: Response) -> Response:
    assert isinstance(normal.body, bytes)
    return Response(200, normal.body[: len(normal.body) // 2], normal.content_type)


def _wrong_type(normal: Response) -> Response:
    """Valid JSON of the other shape: a list where an object is expected, and vice versa."""
    assert isinstance(normal.body, bytes)
    expected_object = isinstance(json.loads(normal.body), dict)
    payload: Any = ["simulated", "wrong", "type"] if expected_object else {"simulated": "wrong"}
    return Response(200, encode_json(payload), normal.content_type)


def _pagination_loop(normal: Response) -> Response:
    """links.next back at page 1 and no meta.total_records: only a page cap ends the walk."""
    assert isinstance(normal.body, bytes)
    document = json.loads(normal.body)
    if isinstance(document, dict) and "first" in document.get("links", {}):
        document["links"]["next"] = document["links"]["first"]
        document.get("meta", {}).pop("total_records", None)
    return Response(200, encode_json(document), normal.content_type)


_RENDERERS: dict[str, Callable[[Fault, Request, Api], Response | Hang]] = {
    "status": _status,
    "html": _html,
    "hang": _hang,
    "malformed_json": _malformed_json,
    "truncated_json": _from_normal(_truncate),
    "wrong_type": _from_normal(_wrong_type),
    "huge_body": _huge_body,
    "pagination_loop": _from_normal(_pagination_loop),
    "expired_token": _expired_token,
    "deep_json": _deep_json,
}
