"""The planning table: per level (series.py), the busy hour of a period from the recorded
hourly series, today's effective limit, and what Erlang B makes of them; rendered as aligned
text or CSV. Queries go through the function it is handed (PrometheusClient.query)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from exporter.planning.erlang import blocking, channels_needed
from exporter.planning.prometheus import Sample
from exporter.planning.series import Level


@dataclass(frozen=True)
class Row:
    level: str
    labels: dict[str, str]
    busy_hour_erlangs: float
    busy_hour_peak: float | None
    limit: float | None
    blocking: float | None  # at today's limit
    channels: int  # the fewest for the grade of service

    @property
    def name(self) -> str:
        return "/".join(value for value in self.labels.values() if value != "")


def queries(level: Level, period_seconds: int) -> dict[str, str]:
    """Busy hour (most hourly erlangs), busiest peak and today's limit, one series per object
    (`max by` its labels, so two jobs scraping one target count once)."""
    by = ", ".join(level.labels)
    window = f"{period_seconds}s"
    return {
        "erlangs": f"max by ({by}) (max_over_time({level.traffic}:hourly_avg[{window}]))",
        "peak": f"max by ({by}) (max_over_time({level.traffic}:hourly_max[{window}]))",
        "limit": f"max by ({by}) ({level.limit})",
    }


def plan(
    levels: tuple[Level, ...],
    query: Callable[[str], list[Sample]],
    period_seconds: int,
    grade_of_service: float,
) -> list[Row]:
    """Every object that has traffic in the period, the most blocked first."""
    rows = []
    for level in levels:
        answers = {key: query(expr) for key, expr in queries(level, period_seconds).items()}
        peaks = _by_labels(level, answers["peak"])
        limits = _by_labels(level, answers["limit"])
        for sample in answers["erlangs"]:
            if not math.isfinite(sample.value) or sample.value < 0:
                continue
            key = _key(level, sample.labels)
            rows.append(_row(level, sample, peaks.get(key), limits.get(key), grade_of_service))
    return sorted(rows, key=lambda r: (-(r.blocking or 0.0), -_utilisation(r), r.level, r.name))


def _row(
    level: Level, sample: Sample, peak: float | None, limit: float | None, grade: float
) -> Row:
    erlangs = sample.value
    at_limit = None
    if limit is not None and not math.isnan(limit):
        # An unlimited (+Inf) limit refuses nothing.
        at_limit = 0.0 if math.isinf(limit) else blocking(erlangs, max(int(limit), 0))
    return Row(
        level=level.name,
        labels={label: sample.labels.get(label, "") for label in level.labels},
        busy_hour_erlangs=erlangs,
        busy_hour_peak=peak,
        limit=limit,
        blocking=at_limit,
        channels=channels_needed(erlangs, grade),
    )


def _utilisation(row: Row) -> float:
    if row.limit is None or not row.limit or math.isinf(row.limit) or math.isnan(row.limit):
        return 0.0
    return row.busy_hour_erlangs / row.limit


def _key(level: Level, labels: dict[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(label, "") for label in level.labels)


def _by_labels(level: Level, samples: list[Sample]) -> dict[tuple[str, ...], float]:
    return {_key(level, s.labels): s.value for s in samples}


HEADER = (
    "level",
    "target",
    "object",
    "busy_hour_erlangs",
    "busy_hour_peak",
    "limit",
    "blocking_at_limit",
    "channels_needed",
    "spare_channels",
)


def _fields(row: Row) -> list[str]:
    limit = row.limit
    spare = "" if limit is None or math.isnan(limit) else _number(limit - row.channels)
    return [
        row.level,
        row.labels.get("target", ""),
        "/".join(v for k, v in row.labels.items() if k != "target" and v != ""),
        f"{row.busy_hour_erlangs:.2f}",
        "" if row.busy_hour_peak is None else _number(row.busy_hour_peak),
        "" if limit is None else _number(limit),
        "" if row.blocking is None else f"{row.blocking:.4f}",
        str(row.channels),
        spare,
    ]


def _number(value: float) -> str:
    if math.isinf(value):
        return "unlimited" if value > 0 else "-unlimited"
    if math.isnan(value):
        return ""
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def render_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(_fields(row) for row in rows)
    return out.getvalue()


def render_table(rows: list[Row], grade_of_service: float) -> str:
    """Aligned columns for a terminal; blocking as a percentage."""
    header = [
        "LEVEL",
        "TARGET",
        "OBJECT",
        "BUSY-HOUR E",
        "PEAK",
        "LIMIT",
        "BLOCKING",
        f"CHANNELS@{grade_of_service:.2%}".replace(".00%", "%"),
        "SPARE",
    ]
    lines = [header]
    for row in rows:
        fields = _fields(row)
        fields[6] = "" if row.blocking is None else f"{row.blocking:.2%}"
        lines.append(fields)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = range(3, len(header))
    return (
        "\n".join(
            "  ".join(
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip()
            for line in lines
        )
        + "\n"
    )
