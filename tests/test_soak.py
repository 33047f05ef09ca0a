"""Bounded soak: scrapes with random faults, and with hostile pages and clients (issue 21),
must not grow threads, file descriptors or memory.

Runs SOAK_SECONDS (default 10 s in `make test`; `make soak` runs 60 s). Memory is the Python
heap as tracemalloc counts it: what a leak would grow. The process's RSS also holds the
allocator's high-water marks (a 20 MB fault body read once), which say nothing of a leak.
"""

from __future__ import annotations

import gc
import os
import random
import socket
import threading
import time
import tracemalloc
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

import exporter
from exporter.config.section import Secret
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.config import DidwwRefresh, DidwwTarget
from simulator import Fault, Simulator
from tests.helpers import serving, simulator_config, wait_until
from tests.hostile_didww import API_KEY, Flood, hostile_didww

pytestmark = pytest.mark.slow

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "10"))
REPORTS = "/service-providers/trunk-groups/call-capacity/reports"
OWN_THREADS = ("odin-", "didww-", "collect-")
EXPORTER_DIR = str(Path(exporter.__file__).parent)
FAULTS = [
    Fault(api="odin", path=REPORTS, status=503, times=1),
    Fault(api="odin", path=REPORTS, kind="html", status=502, times=1),
    Fault(api="odin", path=REPORTS, kind="truncated_json", times=1),
    Fault(api="odin", path=REPORTS, kind="wrong_type", times=1),
    Fault(api="odin", path=REPORTS, kind="expired_token", times=1),
    Fault(api="odin", path="/groups/trunk-groups", kind="malformed_json", times=2),
    Fault(api="didww", path="/balance", status=429, retry_after=0.1, times=1),
    Fault(api="didww", path="/capacity_pools", kind="huge_body", times=1),
    Fault(api="didww", path="/shared_capacity_groups", kind="pagination_loop", times=1),
]


def exporter_heap() -> int:
    """Bytes the exporter's own code holds (the in-process simulator logs every request)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(True, f"{EXPORTER_DIR}/*"),
            tracemalloc.Filter(False, f"{EXPORTER_DIR}/simulator/*"),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def own_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(OWN_THREADS))


def resources() -> tuple[int, int, int]:
    """(own worker threads, open file descriptors, the exporter's traced heap in bytes).

    Garbage in reference cycles (a future and its callbacks, an exception and its frames) is
    collected first: it is freed by the next full collection, whenever that comes, so only
    what is still reachable can be a leak."""
    gc.collect()
    threads = own_threads()
    descriptors = len(os.listdir("/proc/self/fd"))
    return threads, descriptors, exporter_heap()


def test_soak_with_random_faults_leaks_nothing(simulator: Simulator) -> None:
    rng = random.Random(42)
    with serving(Exporter(simulator_config(simulator))) as url:
        session = requests.Session()
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": "3"}

        def scrape() -> None:
            if rng.random() < 0.5:
                simulator.inject(rng.choice(FAULTS))
            response = session.get(f"{url}/metrics", headers=headers, timeout=10)
            assert response.status_code == 200
            assert "odin_up" in response.text

        for fault in FAULTS:  # warm up: pools, caches, the first of every code path
            simulator.inject(fault)
            scrape()
        wait_until(lambda: own_threads() == 0, 5, "the warm-up collections' threads to end")
        tracemalloc.start()
        _, fds_before, heap_before = resources()
        scrapes = 0
        end = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < end:
            scrape()
            scrapes += 1
        simulator.clear_faults()
        scrape()
        # Finished collections' threads end within moments; one that outlives its collection
        # does not.
        wait_until(lambda: own_threads() == 0, 5, "finished collections' threads to end")
        threads_after, fds_after, heap_after = resources()
        tracemalloc.stop()
    assert scrapes > 20
    assert threads_after == 0, "worker threads outlived their collections"
    # Keep-alive pools may still grow towards their size after the warm-up (8 Odin and 4 DIDWW
    # connections, two descriptors each with the simulator in this process); a descriptor
    # leaked per scrape would exceed that many times over.
    assert fds_after <= fds_before + 2 * (8 + 4), f"{fds_after} descriptors after {scrapes} scrapes"
    growth = heap_after - heap_before
    # A few kB per new label set of the request counters is expected once; retaining each
    # collection (a leak) costs over 10 kB per scrape.
    assert growth < 4_000 * scrapes, f"the exporter's heap grew {growth} B over {scrapes} scrapes"


def test_soak_with_hostile_pages_and_clients_leaks_nothing(simulator: Simulator) -> None:
    """Issue 21's memory and worker rows, over and over: a DIDWW whose every page floods it
    with `included` objects, clients that hang up while their scrape waits, and clients that
    stop reading a large answer. Every collection gives its memory back, the healthy target
    is served every time, and nothing grows."""
    odin = simulator_config(simulator).targets[0]
    flood = Flood()  # the issue's: 120 pages of 175,000 objects each
    with hostile_didww(flood) as upstream:
        hostile = DidwwTarget(
            name="hostile",
            url=upstream.url,
            api_key=Secret(API_KEY),
            rate_limit=0.0,
            refresh=DidwwRefresh(pools=0.0, groups=0.0, trunks=0.0, did_counts=0.0),
        )
        exporter = Exporter(Config(targets=(odin, hostile)))
        with serving(exporter) as url:
            port = int(url.rsplit(":", 1)[1])
            session = requests.Session()
            headers = {"X-Prometheus-Scrape-Timeout-Seconds": "5"}
            rude = (
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 60"
                b"\r\n\r\n"
            )

            def round_of_abuse() -> None:
                with ExitStack() as stack:
                    for index in range(6):
                        sock = stack.enter_context(socket.socket())
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                        sock.connect(("127.0.0.1", port))
                        sock.sendall(rude)
                        if index % 2:
                            sock.close()  # hung up at once; the others read nothing
                    response = session.get(f"{url}/metrics", headers=headers, timeout=10)
                    assert response.status_code == 200
                    assert f'odin_up{{target="{odin.name}"}} 1.0' in response.text
                    assert 'didww_up{target="hostile"} 0.0' in response.text

            round_of_abuse()  # warm
            wait_until(lambda: own_threads() == 0, 10, "the warm-up collections' threads")
            tracemalloc.start()
            _, fds_before, heap_before = resources()
            rounds = 0
            end = time.monotonic() + SOAK_SECONDS
            while time.monotonic() < end:
                round_of_abuse()
                rounds += 1
            wait_until(lambda: own_threads() == 0, 10, "finished collections' threads to end")
            wait_until(lambda: exporter.memory.used == 0, 5, "the collections' memory back")
            threads_after, fds_after, heap_after = resources()
            tracemalloc.stop()
    assert rounds >= 3
    assert threads_after == 0, "worker threads outlived their collections"
    # The slow readers' connections are closed with their round; keep-alive pools stay.
    assert fds_after <= fds_before + 2 * (8 + 4), f"{fds_after} descriptors after {rounds} rounds"
    growth = heap_after - heap_before
    assert growth < 40_000 * rounds, f"the exporter's heap grew {growth} B over {rounds} rounds"
