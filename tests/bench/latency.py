"""Wall time of exporter scrapes against the simulator with injected latency.

Each run makes a fresh `Exporter` and scrapes it twice. The first scrape is cold: it logs in
(one more round trip, before any data call can start) and opens its connections. The second
is warm, as every scrape of a running exporter is until its token nears expiry (about 24 h):
the token is cached and the keep-alive connections are reused. A scrape is timed from
`Exporter.scrape` to its last chunk written: the answer is rendered while the network waits.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from statistics import median

from exporter.core.deadline import Deadline
from exporter.registry import Config
from exporter.scrape.running import Exporter

_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class ScrapeTimes:
    cold: float  # median seconds, first scrape of a fresh exporter (login, new connections)
    warm: float  # median seconds, the next scrape (cached token, kept-alive connections)


def time_scrapes(config: Config, runs: int, expect: dict[bytes, int]) -> ScrapeTimes:
    """Median cold and warm scrape times over `runs` fresh exporters.

    `expect` maps a regular expression to how many lines of the exposition must match it, so
    that a scrape cannot look fast by failing (every SP up, every trunk group collected).
    """
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(runs):
        exporter = Exporter(config)
        try:
            cold.append(_timed_scrape(exporter, expect)[0])
            warm.append(_timed_scrape(exporter, expect)[0])
        finally:
            exporter.close()
    return ScrapeTimes(median(cold), median(warm))


def _timed_scrape(exporter: Exporter, expect: dict[bytes, int]) -> tuple[float, bytes]:
    started = time.perf_counter()
    exposition = b"".join(exporter.scrape(Deadline(_DEADLINE_SECONDS)).chunks(openmetrics=False))
    seconds = time.perf_counter() - started
    for pattern, count in expect.items():
        found = len(re.findall(pattern, exposition, re.MULTILINE))
        if found != count:
            raise RuntimeError(f"scrape incomplete: {found} lines match {pattern!r}, not {count}")
    return seconds, exposition


def rounds(calls: int, concurrency: int) -> int:
    """Round trips that `calls` independent calls need with `concurrency` in flight."""
    return math.ceil(calls / concurrency)


def steady_state_requests(config: Config) -> int:
    """Upstream requests the second of two scrapes makes (the first fills what is kept)."""
    exporter = Exporter(config)
    try:
        exporter.scrape(Deadline(_DEADLINE_SECONDS))
        before = _requests_made(exporter)
        exporter.scrape(Deadline(_DEADLINE_SECONDS))
        return _requests_made(exporter) - before
    finally:
        exporter.close()


def _requests_made(exporter: Exporter) -> int:
    """The exporter's own count of upstream requests, every endpoint and code."""
    families = exporter.telemetry.target_families(exporter.target_names)
    return int(
        sum(
            sample.value
            for family in families
            if family.name == "trunk_capacity_exporter_upstream_requests"
            for sample in family.samples
        )
    )
