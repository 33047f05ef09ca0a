"""Where a warm report fan-out's time goes: `python -m tests.bench.timeline` (about 30 s).

Not part of `make bench`: this explains its first row. For 200 SPs x 10 groups at L = 50 ms
and C = 16 it prints, for a few warm scrapes, when the first and the last request went out,
the critical worker's requests (the one whose last answer came last), and how long the
scrape took after that answer; then the same 200 reports fetched by a bare urllib3 client
with 16 threads and no parsing, the floor of any Python client against this simulator.
Each request is timed by wrapping `UpstreamSession._send_once`, which only this tool does.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from statistics import median
from typing import Any
from urllib.parse import urlsplit

import urllib3

from exporter.core.deadline import Deadline
from exporter.scrape.running import Exporter
from exporter.upstream.http_client import UpstreamSession
from tests.bench.run import LATENCY, round_trip
from tests.bench.sequential import REPORT, report_per_service_provider, timed
from tests.bench.simulator_process import (
    CONCURRENCY,
    SimulatedOdin,
    exporter_config,
    simulated_odin,
)

SERVICE_PROVIDERS, GROUPS_PER_SP, SCRAPES = 200, 10, 5
Span = tuple[int, float, float]  # thread, start, end (perf_counter)


@contextmanager
def timed_requests() -> Iterator[list[Span]]:
    """Every upstream request's thread, start and end while the block runs."""
    spans: list[Span] = []
    original: Callable[..., Any] = UpstreamSession._send_once

    def send_once(self: UpstreamSession, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args)
        finally:
            spans.append((threading.get_ident(), started, time.perf_counter()))

    UpstreamSession._send_once = send_once  # type: ignore[method-assign]
    try:
        yield spans
    finally:
        UpstreamSession._send_once = original  # type: ignore[method-assign]


def describe_scrape(scrape: Callable[[], None]) -> str:
    with timed_requests() as spans:
        started = time.perf_counter()
        scrape()
        ended = time.perf_counter()
    by_worker: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for worker, start, end in spans:
        by_worker[worker].append((start - started, end - started))
    firsts = sorted(min(s for s, _ in requests) for requests in by_worker.values())
    critical = max(by_worker.values(), key=lambda requests: max(e for _, e in requests))
    last_answer = max(e for _, e in critical)
    cycles = " ".join(f"{(e - s) * 1000:.0f}" for s, e in sorted(critical))
    return (
        f"scrape {ended - started:.3f} s: first requests sent {firsts[0] * 1000:.1f} to "
        f"{firsts[-1] * 1000:.1f} ms; critical worker starts at {min(critical)[0] * 1000:.1f} ms, "
        f"{len(critical)} requests of [{cycles}] ms; last answer at {last_answer:.3f} s, "
        f"then {(ended - started - last_answer) * 1000:.1f} ms to the last byte"
    )


def bare_urllib3(odin: SimulatedOdin, service_providers: Sequence[str]) -> float:
    """Seconds for 16 threads to fetch every report with urllib3 and nothing else."""
    url = urlsplit(odin.url)
    pool = urllib3.HTTPConnectionPool(url.hostname, url.port, maxsize=CONCURRENCY)
    credentials = json.dumps({"username": odin.username, "password": odin.password})
    login = pool.request("POST", f"{url.path}/auth/token", body=credentials)
    headers = {"Authorization": f"Bearer {json.loads(login.data)['token']}"}
    queue = list(service_providers)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                service_provider = queue.pop()
            fields = {"serviceProviderId": service_provider}
            answer = pool.request("GET", url.path + REPORT, fields=fields, headers=headers)
            assert answer.status == 200, answer.status

    def run() -> float:
        queue[:] = service_providers
        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    run()  # connections opened
    try:
        return median(run() for _ in range(SCRAPES))
    finally:
        pool.close()


def main() -> None:
    with simulated_odin(SERVICE_PROVIDERS, GROUPS_PER_SP, latency=LATENCY) as odin:
        service_providers = odin.service_provider_ids()
        trip = round_trip([timed(report_per_service_provider, odin, service_providers[:60])])
        bound = trip * -(-SERVICE_PROVIDERS // CONCURRENCY)
        print(f"round trip {trip * 1000:.1f} ms, network-only bound {bound:.3f} s")
        exporter = Exporter(exporter_config(odin, service_providers))
        try:

            def scrape() -> None:
                b"".join(exporter.scrape(Deadline(60)).chunks(openmetrics=False))

            scrape()  # cold: login and connections
            for _ in range(SCRAPES):
                print(describe_scrape(scrape))
        finally:
            exporter.close()
        floor = bare_urllib3(odin, service_providers)
        print(f"bare urllib3, 16 threads, no parsing: {floor:.3f} s = {floor / bound:.2f}x bound")


if __name__ == "__main__":
    main()
