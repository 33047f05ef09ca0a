"""The request workers are for rendering, not for waiting (issue 21, the serving rows).

The exporter's real HTTP server on loopback, with its default 16 workers, in front of two
simulators: a healthy one (a large Odin) and one whose latency the test sets (a DIDWW). A
request that waits for a collection, a client that hung up, and a client that reads slowly
must not keep other scrapes from being answered in time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass

import pytest
import requests

from exporter.config.section import Secret
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.serving.app import ScrapeTimeouts
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.odin.config import OdinTarget
from simulator import Simulator
from simulator.builders import generated_dataset
from tests.helpers import serving

pytestmark = pytest.mark.slow

HEALTHY, SLOW = "odin-large", "didww-slow"


@dataclass
class Setup:
    url: str
    port: int
    slow: Simulator

    def probe(self, target: str, timeout: float) -> tuple[int, float, str]:
        started = time.monotonic()
        response = requests.get(
            f"{self.url}/probe",
            params={"target": target},
            headers={"X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}"},
            timeout=timeout + 5,
        )
        return response.status_code, time.monotonic() - started, response.text

    def request(self, target: str, scrape_timeout: float) -> bytes:
        return (
            f"GET /probe?target={target} HTTP/1.1\r\nHost: exporter\r\n"
            f"X-Prometheus-Scrape-Timeout-Seconds: {scrape_timeout:g}\r\n\r\n"
        ).encode()


@contextmanager
def exporter_setup() -> Iterator[Setup]:
    large = generated_dataset(service_providers=150, groups_per_sp=20)
    with Simulator(large) as healthy, Simulator() as slow:
        config = Config(
            targets=(
                OdinTarget(
                    name=HEALTHY,
                    url=healthy.odin_url,
                    username=healthy.odin_username,
                    password=Secret(healthy.odin_password),
                    discover=True,
                    rate_limit=0.0,
                    max_concurrency=8,
                ),
                DidwwTarget(
                    name=SLOW,
                    url=slow.didww_url,
                    api_key=Secret(slow.didww_api_key),
                    rate_limit=0.0,
                ),
            )
        )
        exporter = Exporter(config)
        with serving(exporter, ScrapeTimeouts(default=10.0)) as url:
            setup = Setup(url, int(url.rsplit(":", 1)[1]), slow)
            # Warm: Odin's SPs are discovered, DIDWW's provisioning is kept for 5 minutes,
            # so that a DIDWW collection is then one balance call (the simulator's latency).
            assert setup.probe(HEALTHY, 30)[0] == 200
            assert setup.probe(SLOW, 30)[0] == 200
            yield setup


def test_clients_that_hang_up_while_waiting_hold_no_worker() -> None:
    """16 clients ask for a target whose upstream takes 20 s, with a 300 s scrape timeout,
    and hang up at once: the ordinary scrapes after them are answered at once."""
    with exporter_setup() as setup:
        setup.slow.latency = 20.0
        for _ in range(2):  # twice the workers: a second wave on top of the first
            for _ in range(16):
                with socket.create_connection(("127.0.0.1", setup.port), timeout=5) as sock:
                    sock.sendall(setup.request(SLOW, 300))
        time.sleep(0.5)  # they are all waiting now, on what a 20 s upstream answers
        for _ in range(5):
            status, elapsed, text = setup.probe(HEALTHY, 5)
            assert status == 200
            assert f'odin_up{{target="{HEALTHY}"}} 1' in text
            assert elapsed < 3, f"a scrape of the healthy target took {elapsed:.1f}s"
        health = requests.get(f"{setup.url}/-/healthy", timeout=2)
        assert health.status_code == 200


def test_a_client_that_asked_for_300s_and_hung_up_holds_the_target_one_scrape_at_most() -> None:
    """The collection it started ends by the deadline of the first real scrape that joins it;
    the scrape after that collects afresh, from an upstream that has recovered."""
    with exporter_setup() as setup:
        setup.slow.latency = 20.0
        with socket.create_connection(("127.0.0.1", setup.port), timeout=5) as sock:
            sock.sendall(setup.request(SLOW, 300))
        time.sleep(0.5)  # its collection now waits on a 20 s answer
        setup.slow.latency = 0.0
        status, joined, _ = setup.probe(SLOW, 4)
        assert status == 200 and joined < 6, f"the joining scrape took {joined:.1f}s"
        status, elapsed, text = setup.probe(SLOW, 4)
    assert status == 200 and elapsed < 3, f"the next scrape took {elapsed:.1f}s"
    assert f'didww_up{{target="{SLOW}"}} 1' in text


def test_200_concurrent_scrapes_of_a_2s_upstream_are_all_answered_in_time() -> None:
    with exporter_setup() as setup:
        setup.slow.latency = 2.0
        with ThreadPoolExecutor(200) as clients:
            results = list(clients.map(lambda _: setup.probe(SLOW, 10), range(200)))
    statuses = [status for status, _, _ in results]
    slowest = max(elapsed for _, elapsed, _ in results)
    assert statuses == [200] * 200
    assert all(f'didww_up{{target="{SLOW}"}} 1' in text for _, _, text in results)
    # Every one joins the collection in flight (or the next): about 2 s, not 200/16 rounds.
    assert slowest < 9.5, f"the slowest of 200 scrapes took {slowest:.1f}s"


def slow_reader(port: int, request: bytes, stack: ExitStack) -> socket.socket:
    """A client with a 1 kB receive buffer that asks for an answer and then reads nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stack.enter_context(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    return sock


def test_slow_readers_of_a_large_answer_hold_no_worker() -> None:
    with exporter_setup() as setup:
        _, _, text = setup.probe(HEALTHY, 10)
        assert len(text) > 2_000_000, "the answer must be larger than what the buffers hold"
        stop = threading.Event()
        with ExitStack() as stack:
            readers = [
                slow_reader(setup.port, setup.request(HEALTHY, 10), stack) for _ in range(20)
            ]

            def trickle() -> None:  # a byte a second from each
                while not stop.wait(1.0):
                    for reader in readers:
                        reader.setblocking(False)
                        with suppress(OSError):  # nothing arrived yet
                            reader.recv(1)

            trickling = threading.Thread(target=trickle, daemon=True)
            trickling.start()
            try:
                time.sleep(1.0)  # every answer is rendered and stuck in its socket by now
                for _ in range(5):
                    status, elapsed, _ = setup.probe(SLOW, 5)
                    assert status == 200
                    assert elapsed < 3, f"a scrape beside 20 slow readers took {elapsed:.1f}s"
            finally:
                stop.set()
                trickling.join(timeout=5)
