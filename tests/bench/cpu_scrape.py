"""One measured scrape in a process of its own, so that its CPU time and peak RSS are its own.

    python -m tests.bench.cpu_scrape exporter URL USERNAME PASSWORD EXPOSITION_FILE
    python -m tests.bench.cpu_scrape parse EXPOSITION_FILE PARSED_FILE
    python -m tests.bench.cpu_scrape baseline PARSED_FILE

`exporter` builds an `Exporter` for the simulated Odin at URL (every SP it lists, no trunk
groups), then scrapes once and streams the answer into EXPOSITION_FILE, chunk by chunk as a
server would write it to its socket: that scrape is what is measured.

`parse` reads an exposition into the samples `baseline` rebuilds, once, and pickles them.

`baseline` is prometheus_client alone producing the same exposition (see baseline.py): it
loads the parsed samples (not measured), then builds every sample again with `add_metric` and
renders with `generate_latest` (measured). The ratio of the two is the cost of everything the
exporter adds: HTTP, JSON, parsing, scheduling and its own way of building families.

`exporter` and `baseline` print one JSON object: CPU seconds (user + system, every thread),
wall seconds, sample count, the RSS before the measured work and the peak RSS of the
process, in MiB.
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from exporter.core.deadline import Deadline
from exporter.scrape.running import Exporter
from tests.bench import baseline
from tests.bench.simulator_process import SimulatedOdin, exporter_config

_DEADLINE_SECONDS = 120.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mib() -> float:
    """The resident set size now (ru_maxrss only gives the peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(work: Callable[[], object]) -> dict[str, float]:
    """Run `work` once; its CPU and wall time, and the process's RSS before and at peak."""
    rss_before = _rss_mib()
    cpu, wall = _cpu_seconds(), time.perf_counter()
    work()
    cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
    return {
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "rss_before_mib": rss_before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def count_samples(exposition: bytes) -> int:
    return sum(1 for line in exposition.splitlines() if line and not line.startswith(b"#"))


def exporter_scrape(odin: SimulatedOdin, out: Path) -> dict[str, float]:
    """A fresh scrape streamed into `out` (CPU and peak RSS); then an HA pair: a fresh gzip
    scrape and, within min_interval, the other replica's gzip scrape of the same data."""
    service_providers = odin.service_provider_ids()
    figures = measure(lambda: _scrape_into(Exporter(exporter_config(odin, service_providers)), out))
    figures["samples"] = float(count_samples(out.read_bytes()))
    pair = Exporter(exporter_config(odin, service_providers, min_interval=300.0))
    gzipped = out.with_suffix(".gz")
    figures["ha_first_cpu_seconds"] = measure(lambda: _scrape_into(pair, gzipped, gzip=True))[
        "cpu_seconds"
    ]
    figures["ha_second_cpu_seconds"] = measure(lambda: _scrape_into(pair, gzipped, gzip=True))[
        "cpu_seconds"
    ]
    pair.close()
    return figures


def _scrape_into(exporter: Exporter, path: Path, gzip: bool = False) -> None:
    """One scrape, written chunk by chunk as a server writes it to its socket."""
    with path.open("wb") as file:
        chunks = exporter.scrape(Deadline(_DEADLINE_SECONDS)).chunks(openmetrics=False, gzip=gzip)
        for chunk in chunks:
            file.write(chunk)


def parse(exposition: Path, parsed: Path) -> dict[str, float]:
    families = baseline.parse_exposition(exposition.read_text())
    parsed.write_bytes(pickle.dumps(families, protocol=pickle.HIGHEST_PROTOCOL))
    return {"samples": float(sum(len(family.samples) for family in families))}


def baseline_build_and_render(parsed: Path) -> dict[str, float]:
    """prometheus_client alone: add_metric for every sample, then generate_latest."""
    families = pickle.loads(parsed.read_bytes())
    rendered: list[bytes] = []
    figures = measure(lambda: rendered.append(baseline.build_and_render(families)))
    figures["samples"] = float(count_samples(rendered[0]))
    return figures


def main(argv: list[str]) -> int:
    if argv[:1] == ["exporter"] and len(argv) == 5:
        figures: object = exporter_scrape(SimulatedOdin(*argv[1:4]), Path(argv[4]))
    elif argv[:1] == ["parse"] and len(argv) == 3:
        figures = parse(Path(argv[1]), Path(argv[2]))
    elif argv[:1] == ["baseline"] and len(argv) == 2:
        figures = baseline_build_and_render(Path(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
