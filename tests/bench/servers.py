"""Compare HTTP servers for the exporter's WSGI app under issue 10's attacks (docs/security.md).

    .venv/bin/pip install cheroot waitress   # not dependencies: only this comparison uses them
    .venv/bin/python -m tests.bench.servers

Each server runs in its own process on 127.0.0.1 with the same app (the exporter in demo mode,
its simulated upstreams in that process) and the same sizes: 16 request threads, a backlog of
1,024, a 5 s timeout. Every attack is bounded; a /-/healthy that takes longer than 5 s counts
as "timeout". Prints a Markdown table.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from statistics import median

import requests

from tests.helpers import wait_until
from tests.processes import Child

SERVERS = ("exporter", "cheroot", "waitress")
HEALTH_TIMEOUT = 5.0


def serve(name: str, certificate: str | None) -> None:
    """In the child process: serve the demo exporter's app with server `name` on a loopback
    port of the system's choosing, and print `port PORT` once it listens."""
    from exporter.demo import demo_config
    from exporter.scrape.running import Exporter
    from exporter.serving.app import ExporterApp, ScrapeTimeouts
    from simulator import Simulator

    simulator = Simulator().__enter__()
    app = ExporterApp(Exporter(demo_config(simulator)), ScrapeTimeouts(default=10))
    context = None
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate + ".crt", certificate + ".key")
    if name == "exporter":
        from exporter.serving.http_server import HttpServer, ServingLimits
        from exporter.serving.listen import open_sockets, parse_listen_address

        limits = ServingLimits(max_requests=16, tls_handshake_timeout=5, read_header_timeout=5)
        sockets = open_sockets([parse_listen_address("127.0.0.1:0")], limits.backlog)
        server = HttpServer(app, sockets, context, limits)
        print(f"port {server.server_address[1]}", flush=True)
        server.serve_forever()
    elif name == "cheroot":
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        cheroot = wsgi.Server(
            ("127.0.0.1", 0), app, numthreads=16, request_queue_size=1024, timeout=5
        )
        if certificate:
            cheroot.ssl_adapter = BuiltinSSLAdapter(certificate + ".crt", certificate + ".key")
        cheroot.prepare()  # binds and listens; bind_addr is then the address it got
        print(f"port {cheroot.bind_addr[1]}", flush=True)
        cheroot.serve()
    else:
        import waitress

        served = waitress.create_server(
            app,
            host="127.0.0.1",
            port=0,
            threads=16,
            backlog=1024,
            connection_limit=512,
            channel_timeout=5,
        )
        print(f"port {served.effective_port}", flush=True)
        served.run()


class Server:
    def __init__(self, name: str, nofile: int | None = None, certificate: str | None = None):
        self.name = name
        self.tls = certificate is not None
        prefix = ["prlimit", f"--nofile={nofile}"] if nofile else []
        command = [*prefix, sys.executable, "-m", "tests.bench.servers", "--serve", name]
        self.child = Child([*command, certificate or ""])
        self.process = self.child.process
        self.port = int(self.child.wait_for_line(r"^port (\d+)$", timeout=30)[1])
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.verify: str | bool = (certificate + ".crt") if certificate else True
        wait_until(self._healthy, 20, f"{name} to answer /-/healthy", interval=0.1)

    def _healthy(self) -> bool:
        with suppress(requests.RequestException):
            return requests.get(f"{self.url}/-/healthy", timeout=1, verify=self.verify).ok
        return False

    def stop(self) -> None:
        self.process.kill()
        self.child.wait(timeout=10)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, path: str, timeout: float = HEALTH_TIMEOUT) -> float | None:
        """Seconds for one request on a new connection, or None past `timeout`."""
        started = time.monotonic()
        try:
            response = requests.get(f"{self.url}{path}", timeout=timeout, verify=self.verify)
        except requests.RequestException:
            return None
        return time.monotonic() - started if response.ok else None


def _show(seconds: float | None) -> str:
    return "timeout" if seconds is None else f"{seconds * 1000:.0f} ms"


@contextmanager
def running(name: str, **options: object) -> Iterator[Server]:
    server = Server(name, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def latency(name: str) -> dict[str, str]:
    with running(name) as server:
        server.get("/metrics", timeout=15)
        scrapes = [server.get("/metrics", timeout=15) for _ in range(30)]
        health = [server.get("/-/healthy") for _ in range(30)]
    done = sorted(s for s in scrapes if s is not None)
    return {
        "scrape p50": _show(median(done)) if done else "timeout",
        "scrape max": _show(done[-1]) if done else "timeout",
        "healthy p50": _show(median(h for h in health if h is not None)),
    }


def concurrent_scrapes(name: str) -> dict[str, str]:
    with running(name) as server:
        server.get("/metrics", timeout=15)
        with ThreadPoolExecutor(200) as clients:
            times = list(clients.map(lambda _: server.get("/metrics", timeout=10), range(200)))
    answered = [t for t in times if t is not None]
    slowest = max(answered) if answered else None
    return {"200 scrapes answered in 10 s": f"{len(answered)}/200, slowest {_show(slowest)}"}


def idle_connections(name: str) -> dict[str, str]:
    with running(name) as server, ExitStack() as stack:
        for _ in range(500):
            stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.5)
        health = server.get("/-/healthy")
        scrape = server.get("/metrics", timeout=10)
    return {"500 idle: healthy": _show(health), "500 idle: scrape": _show(scrape)}


def slow_headers(name: str) -> dict[str, str]:
    with running(name) as server, ExitStack() as stack:
        rss = server.rss_mb()
        sockets = [
            stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
            for _ in range(300)
        ]
        stop = threading.Event()

        def trickle() -> None:
            for sock in sockets:
                with suppress(OSError):
                    sock.send(b"GET / HTTP/1.1\r\nX-Slow: ")
            while not stop.is_set():
                for sock in sockets:
                    with suppress(OSError):
                        sock.send(b"a")
                time.sleep(0.5)

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        time.sleep(1)
        health = server.get("/-/healthy")
        # 30 clients each sending 6 MB of header.
        big = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 6_000_000

        def huge() -> None:
            with suppress(OSError), socket.create_connection(("127.0.0.1", server.port)) as s:
                s.settimeout(5)
                s.sendall(big)

        with ThreadPoolExecutor(30) as clients:
            list(clients.map(lambda _: huge(), range(30)))
        grown = server.rss_mb() - rss
        health_after = server.get("/-/healthy")
        stop.set()
        sender.join(timeout=5)
    return {
        "300 slow headers: healthy": _show(health),
        "30 clients x 6 MB headers: +RSS": f"{grown:.0f} MB, healthy {_show(health_after)}",
    }


def silent_tls(name: str, certificate: str) -> dict[str, str]:
    if name == "waitress":
        return {"20 silent TLS clients: healthy": "no TLS"}
    with running(name, certificate=certificate) as server, ExitStack() as stack:
        for _ in range(20):
            stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.2)
        return {"20 silent TLS clients: healthy": _show(server.get("/-/healthy"))}


def out_of_descriptors(name: str) -> dict[str, str]:
    with running(name, nofile=128) as server, ExitStack() as stack:
        for _ in range(200):
            with suppress(OSError):
                stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        cpu = server.cpu_seconds()
        time.sleep(3)
        busy = (server.cpu_seconds() - cpu) / 3
        health = server.get("/-/healthy")
    return {"nofile=128, 200 idle: CPU, healthy": f"{busy:.0%}, {_show(health)}"}


def certificate(directory: str) -> str:
    base = os.path.join(directory, "server")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", base + ".key", "-out", base + ".crt", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return base


def main() -> None:
    missing = [name for name in ("cheroot", "waitress") if not _importable(name)]
    if missing or shutil.which("prlimit") is None or shutil.which("openssl") is None:
        sys.exit(
            f"needs {', '.join(missing) or 'prlimit and openssl'}: pip install {' '.join(missing)}"
        )
    with tempfile.TemporaryDirectory() as directory:
        cert = certificate(directory)
        attacks: list[Callable[[str], dict[str, str]]] = [
            latency,
            concurrent_scrapes,
            idle_connections,
            slow_headers,
            lambda name: silent_tls(name, cert),
            out_of_descriptors,
        ]
        results: dict[str, dict[str, str]] = {name: {} for name in SERVERS}
        for attack in attacks:
            for name in SERVERS:
                results[name].update(attack(name))
                print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    rows = list(results[SERVERS[0]])
    print("| | " + " | ".join(SERVERS) + " |")
    print("|---|" + "---|" * len(SERVERS))
    for row in rows:
        print(f"| {row} | " + " | ".join(results[name][row] for name in SERVERS) + " |")


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3] or None)
    else:
        main()
