"""Bounded soak: scrapes with random faults must not grow threads, file descriptors or memory.

Runs SOAK_SECONDS (default 10 s in `make test`; `make soak` runs 60 s). Memory is the Python
heap as tracemalloc counts it: what a leak would grow. The process's RSS also holds the
allocator's high-water marks (a 20 MB fault body read once), which say nothing of a leak.
"""

from __future__ import annotations

import os
import random
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import requests

import exporter
from exporter.scrape.running import Exporter
from simulator import Fault, Simulator
from tests.helpers import serving, simulator_config, wait_until

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
    """(own worker threads, open file descriptors, the exporter's traced heap in bytes)."""
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
