"""A hostile DIDWW on loopback: gzip-compressed pages that announce many more (`links.next`,
`links.last`), each carrying a flood of tiny `included` objects (issue 21's memory row).

Only /capacity_pools and /shared_capacity_groups flood; the other endpoints answer one empty
page, the balance a small one. Each page is compressed once and kept (a flood of 175,000
objects is 7.9 MB unpacked, about 23 kB on the wire).
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "hostile-didww-key"
FLOODED = ("/capacity_pools", "/shared_capacity_groups")


@dataclass(frozen=True)
class Flood:
    pages: int = 120
    per_page: int = 175_000  # tiny `included` objects on each page
    included_type: str = "dids"  # a type nobody asked to include
    name_bytes: int = 0  # each object has a name this long (a valid pool, if pools are its type)


class _Pages:
    def __init__(self, flood: Flood) -> None:
        self.flood = flood
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], bytes] = {}

    def body(self, path: str, number: int) -> bytes:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            key = (path, number)
            if key not in self._cache:
                self._cache[key] = gzip.compress(self._document(path, number), compresslevel=1)
            return self._cache[key]

    def _document(self, path: str, number: int) -> bytes:
        if path == "/balance":
            attributes = {"balance": "10.00", "credit": "0.00", "total_balance": "10.00"}
            return _json({"data": {"type": "balances", "id": "b", "attributes": attributes}})
        if path not in FLOODED:
            return _json({"data": [], "meta": {"total_records": 0}, "links": {}})
        kind = path.strip("/")
        flood = self.flood
        included: list[dict[str, object]] = [
            {"type": flood.included_type, "id": f"{number}-{i}"} for i in range(flood.per_page)
        ]
        if flood.name_bytes:
            for item in included:
                item["attributes"] = {"name": f"{item['id']}".ljust(flood.name_bytes, "x")}
        links = {"last": f"{path}?page%5Bnumber%5D={flood.pages}"}
        if number < flood.pages:
            links["next"] = f"{path}?page%5Bnumber%5D={number + 1}"
        return _json(
            {
                "data": [{"type": kind, "id": f"{number}", "attributes": {"name": f"{number}"}}],
                "included": included,
                "meta": {"total_records": flood.pages},
                "links": links,
            }
        )


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class HostileDidww:
    url: str
    pages: _Pages

    def requests(self, path: str) -> int:
        return self.pages.requests.get(path, 0)


@contextmanager
def hostile_didww(flood: Flood = Flood()) -> Iterator[HostileDidww]:
    pages = _Pages(flood)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            number = int(parse_qs(url.query).get("page[number]", ["1"])[0])
            path = url.path.removeprefix("/v3")
            if path == "/dids":
                body = gzip.compress(_json({"data": [], "meta": {"total_records": 1}}))
            else:
                body = pages.body(path, number)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.api+json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reads the exporter's log, not this one's

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostileDidww(f"http://127.0.0.1:{server.server_address[1]}/v3", pages)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
