"""Bounded soak: scrapes with random faults must not grow threads, file descriptors or memory.

Runs SOAK_SECONDS (default 10 s in `make test`; `make soak` runs 60 s).
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import requests

from exporter.collector import Exporter
from exporter.simulator import Fault, Simulator
from tests.helpers import serving, simulator_config

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "10"))
REPORTS = "/service-providers/trunk-groups/call-capacity/reports"
OWN_THREADS = ("odin-", "didww-", "collect-", "scrape-")
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


def resources() -> tuple[int, int, int]:
    """(own worker threads, open file descriptors, resident memory in kB) of this process."""
    threads = sum(1 for t in threading.enumerate() if t.name.startswith(OWN_THREADS))
    descriptors = len(os.listdir("/proc/self/fd"))
    status = Path("/proc/self/status").read_text()
    rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
    return threads, descriptors, rss


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

        for _ in range(15):  # warm up: pools, caches, the first of every code path
            scrape()
        time.sleep(0.5)
        _, fds_before, rss_before = resources()
        scrapes = 0
        end = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < end:
            scrape()
            scrapes += 1
        simulator.clear_faults()
        scrape()
        time.sleep(0.5)  # let finished collections' threads exit
        threads_after, fds_after, rss_after = resources()
    assert scrapes > 20
    assert threads_after == 0, "worker threads outlived their collections"
    assert fds_after <= fds_before + 5
    assert rss_after - rss_before < 30_000, f"RSS grew by {rss_after - rss_before} kB"
