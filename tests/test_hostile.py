"""The exporter against hostile clients, as a process on loopback (issue 10's table, serving rows).

Each test runs the real exporter (`--demo`, so its simulated upstreams run in the same process)
with short timeouts, attacks it with bounded loops, checks that scrapes and /-/healthy are still
answered, and compares the process's threads and memory before and after. Config-side rows
(alias bombs, secrets) and the upstream-deadline rows are tested with the config and the
collector.
"""

from __future__ import annotations

import os
import resource
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from exporter.scrape.running import Exporter
from exporter.serving.http_server import ServingLimits
from simulator import Simulator
from tests.helpers import serving, simulator_config, tls_section, web_config
from tests.pki import Pki
from tests.processes import Processes

HEADER_TIMEOUT = 1.0
IDLE_TIMEOUT = 2.0
SCRAPE_TIMEOUT = 10.0


@dataclass
class Process:
    pid: int
    url: str
    port: int

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def healthy_within(self, seconds: float) -> float:
        """Seconds /-/healthy took on a new connection; fails past `seconds`."""
        started = time.monotonic()
        response = requests.get(f"{self.url}/-/healthy", timeout=seconds)
        assert response.status_code == 200
        return time.monotonic() - started

    def scrape(self, timeout: float = SCRAPE_TIMEOUT) -> tuple[int, float]:
        started = time.monotonic()
        response = requests.get(
            f"{self.url}/metrics",
            headers={"X-Prometheus-Scrape-Timeout-Seconds": str(timeout)},
            timeout=timeout,
        )
        assert 'odin_up{target="odin-demo"} 1.0' in response.text
        return response.status_code, time.monotonic() - started


@contextmanager
def exporter_process(
    processes: Processes, *flags: str, nofile: int | None = None
) -> Iterator[Process]:
    args = [
        "--demo",
        "--web.listen-address=127.0.0.1:0",
        f"--web.read-header-timeout={HEADER_TIMEOUT}s",
        f"--web.idle-timeout={IDLE_TIMEOUT}s",
        *flags,
    ]
    if nofile is not None:
        args = ["--web.max-connections=100000", *args]
    process = processes.start_exporter(
        *args, prefix=() if nofile is None else ("prlimit", f"--nofile={nofile}")
    )
    url = process.url()
    try:
        yield Process(process.pid, url, int(url.rsplit(":", 1)[1]))
    finally:
        stderr = process.stop()
        assert "Traceback" not in stderr, stderr[-2000:]


def idle_connections(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    """`count` connections that send nothing, closed when `stack` closes."""
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, within: float) -> float:
    """Seconds until the server closed `sock` (reads drain anything it sent first)."""
    started = time.monotonic()
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


@pytest.fixture(scope="module", autouse=True)
def enough_file_descriptors() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip(f"the open files limit is {soft}; these tests hold 1,000 sockets")


@pytest.mark.slow
def test_200_concurrent_scrapes_are_all_answered_within_their_deadline(
    processes: Processes,
) -> None:
    with exporter_process(processes) as exporter:
        exporter.scrape()  # warm: the first collection discovers the SPs
        threads_before = exporter.threads()
        with ThreadPoolExecutor(200) as clients:
            results = list(clients.map(lambda _: exporter.scrape(), range(200)))
        statuses = [status for status, _ in results]
        slowest = max(elapsed for _, elapsed in results)
        assert statuses == [200] * 200
        assert slowest < SCRAPE_TIMEOUT, f"slowest scrape took {slowest:.1f}s"
        assert exporter.threads() <= threads_before + 20
        print(f"200 concurrent scrapes: slowest {slowest:.2f}s")


@pytest.mark.slow
def test_500_idle_connections_stop_neither_a_scrape_nor_healthy(processes: Processes) -> None:
    with exporter_process(processes) as exporter, ExitStack() as stack:
        exporter.scrape()
        threads, rss = exporter.threads(), exporter.rss_mb()
        held = idle_connections(exporter.port, 500, stack)
        assert exporter.healthy_within(2.0) < 2.0
        status, elapsed = exporter.scrape()
        assert status == 200 and elapsed < 5
        assert exporter.threads() <= threads + 5, "idle connections cost threads"
        assert exporter.rss_mb() - rss < 30
        # Never having sent a request, they are closed at the header timeout.
        assert closed_by_server(held[0], within=HEADER_TIMEOUT + 2) < HEADER_TIMEOUT + 1.5
        assert closed_by_server(held[-1], within=2) < 2


@pytest.mark.slow
def test_at_the_connection_bound_the_idle_make_room_for_new_clients(
    processes: Processes,
) -> None:
    flags = ("--web.max-connections=50", "--web.read-header-timeout=30s")
    with (
        exporter_process(processes, *flags) as exporter,
        ExitStack() as stack,
    ):
        idle_connections(exporter.port, 300, stack)  # 250 of them wait in the backlog
        for _ in range(5):
            assert exporter.healthy_within(2.0) < 2.0
        assert exporter.scrape()[0] == 200


@pytest.mark.slow
def test_slow_header_clients_are_dropped_at_the_header_timeout(processes: Processes) -> None:
    with exporter_process(processes) as exporter, ExitStack() as stack:
        rss = exporter.rss_mb()
        trickling = idle_connections(exporter.port, 300, stack)
        for sock in trickling:
            sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        stop_trickling = threading.Event()

        def trickle() -> None:
            while not stop_trickling.is_set():
                for sock in trickling:
                    with suppress(OSError):  # dropped by the server already
                        sock.send(b"a")
                time.sleep(0.2)

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        try:
            assert exporter.healthy_within(2.0) < 2.0
            assert exporter.scrape()[0] == 200
        finally:
            stop_trickling.set()
            sender.join(timeout=5)
        probe = stack.enter_context(socket.create_connection(("127.0.0.1", exporter.port)))
        probe.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert closed_by_server(probe, within=HEADER_TIMEOUT + 3) < HEADER_TIMEOUT + 1.5
        assert exporter.rss_mb() - rss < 30


@pytest.mark.slow
def test_huge_headers_are_refused_without_holding_memory(processes: Processes) -> None:
    """30 clients sending 6 MB headers each: refused with 431 after 16 KiB, memory flat."""
    with exporter_process(processes) as exporter:
        rss = exporter.rss_mb()

        def huge() -> bytes:
            with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as sock:
                with suppress(OSError):  # the server refused and closed before the end
                    sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 6_000_000)
                try:
                    return sock.recv(100)
                except OSError:
                    return b""

        with ThreadPoolExecutor(30) as clients:
            answers = list(clients.map(lambda _: huge(), range(30)))
        assert all(a.startswith(b"HTTP/1.1 431") or a == b"" for a in answers)
        assert any(a.startswith(b"HTTP/1.1 431") for a in answers)
        assert exporter.rss_mb() - rss < 30
        assert exporter.healthy_within(2.0) < 2.0


@pytest.mark.slow
def test_busy_workers_do_not_delay_healthy(processes: Processes) -> None:
    """Every request worker in a scrape; /-/healthy has workers of its own."""
    with (
        exporter_process(processes, "--web.max-requests=2") as exporter,
        ThreadPoolExecutor(20) as clients,
    ):
        scrapes = [clients.submit(exporter.scrape) for _ in range(20)]
        time.sleep(0.1)  # a head start for the scrapes: nothing outside the process shows them
        assert exporter.healthy_within(1.0) < 1.0
        assert [s.result()[0] for s in scrapes] == [200] * 20


@pytest.mark.slow
def test_out_of_file_descriptors_the_server_waits_rather_than_spins(
    processes: Processes,
) -> None:
    """Under `prlimit --nofile=128`, with the connection bound set far above it: accept()
    fails with EMFILE, the server backs off, closes idle connections, and still answers."""
    with exporter_process(processes, nofile=128) as exporter, ExitStack() as stack:
        # With --web.max-connections=100000 the bound is fitted to the limit: 64.
        idle_connections(exporter.port, 200, stack)
        cpu = exporter.cpu_seconds()
        time.sleep(2)
        busy = exporter.cpu_seconds() - cpu
        assert busy < 0.5, f"{busy:.2f} s of CPU in 2 s while out of connections"
        assert exporter.healthy_within(3.0) < 3.0
        assert exporter.scrape()[0] == 200


EMFILE_SERVER = """
import resource, sys, threading
from exporter.serving.http_server import HttpServer, ServingLimits
from exporter.serving.listen import open_sockets, parse_listen_address

resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\\n"]
sockets = open_sockets([parse_listen_address("127.0.0.1:0")], 128)
server = HttpServer(app, sockets, limits=ServingLimits(max_connections=10000))
print(sockets[0].getsockname()[1], flush=True)
server.serve_forever()
"""


@pytest.mark.slow
def test_when_accept_runs_out_of_descriptors_it_backs_off_and_frees_idle_ones(
    processes: Processes,
) -> None:
    """The bound set above what 64 descriptors allow: accept() meets EMFILE; the server
    must not spin on the ready listening socket, and must free idle connections to answer."""
    process = processes.start([sys.executable, "-c", EMFILE_SERVER])
    try:
        port = int(process.wait_for_line(r"^\d+$", timeout=20).group())  # it binds port 0
        server = Process(process.pid, f"http://127.0.0.1:{port}", port)
        with ExitStack() as stack:
            idle_connections(port, 150, stack)
            cpu = server.cpu_seconds()
            time.sleep(2)
            busy = server.cpu_seconds() - cpu
            assert busy < 0.5, f"{busy:.2f} s of CPU in 2 s at EMFILE"
            started = time.monotonic()
            assert requests.get(server.url, timeout=5).text == "ok\n"
            assert time.monotonic() - started < 3
    finally:
        output = process.stop()
    assert "Traceback" not in output, output[-2000:]


@pytest.mark.slow
def test_silent_and_idle_tls_clients_cost_no_thread_and_are_dropped(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    """200 clients that never start the handshake and 50 that finish it and say nothing:
    healthy and a scrape over TLS are still answered, and every one is closed in time."""
    web = web_config(tmp_path, tls_section(pki))
    limits = ServingLimits(tls_handshake_timeout=1.0, read_header_timeout=1.0)
    context = ssl.create_default_context(cafile=pki.ca)
    with (
        serving(Exporter(simulator_config(simulator)), web=web, limits=limits) as url,
        ExitStack() as stack,
    ):
        port = int(url.rsplit(":", 1)[1])
        threads = threading.active_count()
        silent = idle_connections(port, 200, stack)
        handshaken = [  # each right after its connect: the handshake timeout runs from there
            stack.enter_context(
                context.wrap_socket(
                    socket.create_connection(("127.0.0.1", port), timeout=5),
                    server_hostname="127.0.0.1",
                )
            )
            for _ in range(50)
        ]
        started = time.monotonic()
        assert requests.get(f"{url}/-/healthy", verify=pki.ca, timeout=2).status_code == 200
        assert requests.get(f"{url}/metrics", verify=pki.ca, timeout=10).status_code == 200
        assert threading.active_count() <= threads + 16 + 2  # the request workers at most
        assert closed_by_server(silent[-1], within=3) < 3
        assert closed_by_server(handshaken[-1], within=3) < 3
        assert time.monotonic() - started < 5
