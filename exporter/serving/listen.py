"""--web.listen-address: parse `HOST:PORT`, `:PORT` and `[v6]:PORT` and open the sockets.

As in the Prometheus exporter toolkit, `:PORT` listens on every address, IPv4 and IPv6 (one
dual-stack socket, or IPv4 alone on a host without IPv6), and the flag may be repeated. A host
name listens on every address it resolves to (`localhost`: 127.0.0.1 and ::1).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass


class ListenError(ValueError):
    """A listen address that cannot be parsed or bound, as one line."""


@dataclass(frozen=True)
class ListenAddress:
    text: str  # as given on the command line
    host: str  # "" for every address
    port: int

    @property
    def loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class SocketSpec:
    """One socket to open: its family, the address to bind and whether IPv6 is IPv6 only."""

    family: socket.AddressFamily
    host: str
    port: int
    v6only: bool = True


def parse_listen_address(text: str) -> ListenAddress:
    """`:10042`, `0.0.0.0:10042`, `localhost:10042` or `[::1]:10042`."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not port_text.isdigit() or int(port_text) > 65535:
        raise ListenError(f"invalid listen address {text!r}: expected HOST:PORT or :PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ipv6(host):
            raise ListenError(f"invalid listen address {text!r}: [{host}] is not an IPv6 address")
    elif ":" in host:
        raise ListenError(f"invalid listen address {text!r}: put an IPv6 address in [brackets]")
    return ListenAddress(text, host, int(port_text))


def socket_specs(address: ListenAddress) -> list[SocketSpec]:
    """The sockets that serve `address`; resolves a host name."""
    if address.host == "":
        if socket.has_ipv6 and _ipv6_available():
            return [SocketSpec(socket.AF_INET6, "::", address.port, v6only=False)]
        return [SocketSpec(socket.AF_INET, "0.0.0.0", address.port)]
    try:
        found = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ListenError(f"cannot resolve listen address {address.text!r}: {error}") from None
    specs: list[SocketSpec] = []
    for family, _, _, _, sockaddr in found:
        spec = SocketSpec(socket.AddressFamily(family), str(sockaddr[0]), address.port)
        if family in (socket.AF_INET, socket.AF_INET6) and spec not in specs:
            specs.append(spec)
    return specs


def open_socket(spec: SocketSpec, backlog: int) -> socket.socket:
    """A listening, non-blocking socket for `spec`."""
    sock = unbound_socket(spec)
    try:
        sock.bind((spec.host, spec.port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def unbound_socket(spec: SocketSpec) -> socket.socket:
    """The socket with its options set, before bind: what tests inspect for `:PORT`."""
    sock = socket.socket(spec.family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if spec.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(spec.v6only))
    return sock


def open_sockets(addresses: list[ListenAddress], backlog: int) -> list[socket.socket]:
    """Every address's sockets. A host name whose IPv6 address cannot be bound on a host without
    IPv6 still listens on its IPv4 address; any other failure closes all and raises."""
    sockets: list[socket.socket] = []
    try:
        for address in addresses:
            specs = socket_specs(address)
            opened = 0
            for spec in specs:
                try:
                    sockets.append(open_socket(spec, backlog))
                    opened += 1
                except OSError as error:
                    if address.host and len(specs) > 1 and spec.family == socket.AF_INET6:
                        continue  # e.g. localhost's ::1 where IPv6 is disabled
                    raise ListenError(
                        f"cannot listen on {address.text}: {error.strerror}"
                    ) from None
            if not opened:
                raise ListenError(f"cannot listen on {address.text}: no address could be bound")
    except ListenError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False


def _ipv6_available() -> bool:
    """Whether an IPv6 socket can be made (a kernel booted with ipv6.disable=1 cannot)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET6, socket.SOCK_STREAM):
        return True
    return False
