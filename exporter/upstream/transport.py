"""requests' transport adapter, with connections that keep to the deadline of the request they
are sending.

Two things a timeout alone does not bound, done through urllib3's and requests' public
extension points (`HTTPConnection.connect` and `getresponse`, the pools' `ConnectionCls`, the
pool managers' `pool_classes_by_scheme`, `HTTPAdapter.init_poolmanager`, `proxy_manager_for`
and `build_response`), never a private method or attribute:

- **Name resolution.** `socket.getaddrinfo` takes no timeout, and a hanging resolver would hold
  a worker for as long as the system resolver's own retries last. A new connection looks its
  host up in a thread of its own, waiting at most its connect timeout, and then connects to the
  address it found: `connect` sets the connection's `host` to that address for the time of
  urllib3's own `connect` (which opens its socket to whatever `host` is) and back afterwards,
  so the Host header, the TLS server name (`server_hostname`) and the certificate check keep
  the name. Every address found is tried in turn, as urllib3 does, within what is left of the
  connect timeout. The one case where the address cannot be handed over is TLS *to* an
  `https://` proxy (urllib3 verifies that proxy's certificate against `host`): there the
  lookup is still made within the timeout, so a hanging resolver is caught, and urllib3 then
  looks the proxy's name up once more itself, unbounded, as it would without this module.
- **The wait for response headers.** Each socket operation has its timeout, but an upstream
  that trickles its status line a byte at a time never lets one expire. While a connection
  waits for headers its socket is tracked by the deadline of the request being sent (see
  `Deadline`), which shuts it down when the collection ends. The deadline reaches the
  connection through a context variable (`sending_within`): urllib3 creates and calls its
  connections with no way to pass one.

Requests through a proxy (`http://`, `https://`) use the same connections; a SOCKS proxy
keeps urllib3's own.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from exporter.core.deadline import Deadline

# The deadline of the request this thread is sending.
_REQUEST_DEADLINE: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)


@contextmanager
def sending_within(deadline: Deadline) -> Iterator[None]:
    """Requests sent in this block have their wait for response headers tracked by `deadline`."""
    token = _REQUEST_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _REQUEST_DEADLINE.reset(token)


class _DeadlineConnectionMixin:
    """Name resolution within the connect timeout; the wait for headers tracked by the deadline."""

    host: str
    port: int
    timeout: Any
    sock: socket.socket | None
    proxy: urllib3.util.Url | None

    def __init__(self, host: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(host, *args, **kwargs)  # type: ignore[call-arg]
        # As given, a trailing dot included: `host` drops it, the lookup needs it.
        self.lookup_name = host

    def connect(self) -> None:
        name, connect_timeout = self.lookup_name, self.timeout
        if _is_address(name) or not isinstance(connect_timeout, int | float):
            super().connect()  # type: ignore[misc]
            return
        started = time.monotonic()
        addresses = _look_up_within(self, name, self.port, connect_timeout)
        if self.proxy is not None and self.proxy.scheme == "https":
            super().connect()  # type: ignore[misc]  # looked up again: see the module docstring
            return
        try:
            for position, address in enumerate(addresses):
                left = connect_timeout - (time.monotonic() - started)
                if left <= 0:
                    raise ConnectTimeoutError(
                        self, f"connecting to {name} took longer than {connect_timeout:.1f}s"
                    )
                self.host, self.timeout = address, left
                try:
                    self._connect_to_address()
                    return
                except NewConnectionError:  # refused or unreachable: the next address, if any
                    if position == len(addresses) - 1:
                        raise
        finally:
            self.host, self.timeout = name, connect_timeout

    def _connect_to_address(self) -> None:
        """urllib3's own connect, to the address `host` holds."""
        super().connect()  # type: ignore[misc]

    def getresponse(self) -> Any:
        deadline, sock = _REQUEST_DEADLINE.get(), self.sock
        if deadline is None or sock is None:
            return super().getresponse()  # type: ignore[misc]
        deadline.track(sock)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            deadline.untrack(sock)


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    def _connect_to_address(self) -> None:
        """With `host` an address, the name is still what is sent as SNI and what the
        certificate is checked against. Through a proxy's tunnel urllib3 uses the tunnel's
        host for both, so the server name is left alone there."""
        if self.proxy is not None or self.server_hostname is not None:
            super()._connect_to_address()
            return
        self.server_hostname = self.lookup_name
        try:
            super()._connect_to_address()
        finally:
            self.server_hostname = None


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections, direct or through a proxy, keep to the
    deadline of the request being sent (see the module docstring)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # a SOCKS manager has pools of its own
            manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """requests' response without its cookie jar and encoding guess: the exporter reads
        the status, the headers and the raw body, and sends no cookies back."""
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url or ""
        response.request = req
        response.connection = self
        return response


def _look_up_within(connection: Any, host: str, port: int, seconds: float) -> list[str]:
    """The addresses of `host`, looked up in a thread of its own so that a hanging resolver
    costs at most `seconds` (the system resolver's own timeout ends the thread)."""
    answer: Future[list[str]] = Future()

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            answer.set_result(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        except OSError as error:
            answer.set_exception(error)

    threading.Thread(target=look_up, name=f"resolve-{host}", daemon=True).start()
    try:
        addresses = answer.result(timeout=seconds)
    except FutureTimeout:
        raise ConnectTimeoutError(
            connection, f"resolving {host} took longer than {seconds:.1f}s"
        ) from None
    except socket.gaierror as error:
        raise NameResolutionError(host, connection, error) from None
    if not addresses:
        raise NameResolutionError(host, connection, socket.gaierror("no address"))
    return addresses


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
