"""Wall time of exporter scrapes against the simulator with injected latency.

Each run makes a fresh `Exporter` and scrapes it twice. The first scrape is cold: it logs in
(one more round trip, before any data call can start) and opens its connections. The second
is warm, as every scrape of a running exporter is until its token nears expiry (about 24 h):
the token is cached and the keep-alive connections are reused. A scrape is timed from
`Exporter.scrape` to the end of `generate_latest`, since the families are built while rendering.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from statistics import median

from prometheus_client.core import Metric

from exporter.config import Config
from exporter.deadline import Deadline
from exporter.exporter import Exporter
from tests.bench import baseline

_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class ScrapeTimes:
    cold: float  # median seconds, first scrape of a fresh exporter (login, new connections)
    warm: float  # median seconds, the next scrape (cached token, kept-alive connections)
    render: float  # median seconds prometheus_client takes to render the same samples


def time_scrapes(config: Config, runs: int, expect: dict[bytes, int]) -> ScrapeTimes:
    """Median cold and warm scrape times over `runs` fresh exporters.

    `expect` maps a regular expression to how many lines of the exposition must match it, so
    that a scrape cannot look fast by failing (every SP up, every trunk group collected).
    The render term of the bound is timed right after each warm scrape, so that both see the
    same state of a machine whose speed drifts.
    """
    cold: list[float] = []
    warm: list[float] = []
    render: list[float] = []
    families: list[Metric] | None = None
    for _ in range(runs):
        exporter = Exporter(config)
        try:
            cold.append(_timed_scrape(exporter, expect)[0])
            seconds, exposition = _timed_scrape(exporter, expect)
            warm.append(seconds)
        finally:
            exporter.close()
        if families is None:
            families = baseline.build(baseline.parse_exposition(exposition.decode()))
        started = time.perf_counter()
        baseline.render(families)
        render.append(time.perf_counter() - started)
    return ScrapeTimes(median(cold), median(warm), median(render))


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
