"""The benchmark's table, as printed and as written into BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
_SKELETON = f"# Benchmarks\n\n{START}\n{END}\n"


@dataclass(frozen=True)
class Row:
    workload: str
    measured: str
    bound: str = ""  # or the yardstick the measurement is compared with
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: shown for information, no target

    @property
    def result(self) -> str:
        return "" if self.met is None else ("PASS" if self.met else "MISS")


def machine() -> str:
    cpus = f"{os.cpu_count()} CPUs ({cpu_model()})"
    return f"{cpus}, Linux {platform.release()}, Python {platform.python_version()}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(rows: list[Row]) -> str:
    header = ("workload", "measured", "bound or yardstick", "ratio", "target", "result")
    lines = [_cells(header), _cells(("---",) * len(header))]
    lines += [_cells((r.workload, r.measured, r.bound, r.ratio, r.target, r.result)) for r in rows]
    return "\n".join(lines)


def _cells(values: tuple[str, ...]) -> str:
    return "| " + " | ".join(values) + " |"


def results_section(rows: list[Row], settings: str, elapsed: float) -> str:
    """What `make bench` writes between the markers of BENCHMARKS.md."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"Measured {when} on {machine()}, with `make bench`",
            f"(`python -m tests.bench.run`, {elapsed:.0f} s in all). {settings}",
            "",
            table(rows),
        ]
    )


def write_benchmarks(section: str, path: Path = BENCHMARKS) -> None:
    """Replace what is between the markers, keeping the prose around them."""
    text = path.read_text() if path.exists() else _SKELETON
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{section}\n{END}{after}")
