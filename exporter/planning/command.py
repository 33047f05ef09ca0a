"""`trunk-capacity-exporter plan`: the flags, the queries, the table (or CSV) on stdout and a
one-line error on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from exporter.config.section import parse_duration
from exporter.planning.prometheus import PrometheusClient, PrometheusError
from exporter.planning.report import plan, render_csv, render_table
from exporter.planning.series import LEVELS

EXIT_OK, EXIT_FAILED = 0, 1  # and 2 for a bad flag, from argparse


def _period(text: str) -> int:
    seconds = parse_duration(text)
    if seconds is None or seconds < 3600:
        raise argparse.ArgumentTypeError(f"expected a duration of an hour or more, got {text!r}")
    return int(seconds)


def _timeout(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return seconds


def _grade(text: str) -> float:
    try:
        value = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1 (or 1%), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trunk-capacity-exporter plan",
        description="Size trunks from busy-hour traffic: reads the hourly series the planning "
        "rules record (trunk-capacity-planning.rules) from Prometheus and prints, per trunk "
        "group, service provider and pool, the busy hour of the period, the blocking at "
        "today's limit and the channels needed for the grade of service (Erlang B).",
    )
    parser.add_argument(
        "--prometheus.url",
        dest="url",
        required=True,
        metavar="URL",
        help="Prometheus' base URL, e.g. http://localhost:9090",
    )
    parser.add_argument(
        "--period",
        type=_period,
        default=_period("7d"),
        metavar="DURATION",
        help="how far back to look for the busy hour (default: 7d)",
    )
    parser.add_argument(
        "--grade-of-service",
        dest="grade",
        type=_grade,
        default=0.01,
        metavar="SHARE",
        help="calls you accept to refuse in the busy hour (default: 0.01, i.e. 1%%)",
    )
    parser.add_argument(
        "--level",
        choices=[level.name for level in LEVELS],
        action="append",
        help="plan only these (repeatable; default: all)",
    )
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=_timeout("30s"),
        metavar="DURATION",
        help="for each query (default: 30s)",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    levels = tuple(level for level in LEVELS if not args.level or level.name in args.level)
    try:
        client = PrometheusClient(args.url, args.timeout)
        rows = plan(levels, client.query, args.period, args.grade)
    except (PrometheusError, ValueError) as error:  # ValueError: traffic beyond any trunk
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not rows:
        print(
            "plan: no hourly traffic in Prometheus for the period: are the rules of "
            "trunk-capacity-planning.rules loaded, and has it run for an hour?",
            file=sys.stderr,
        )
        return EXIT_FAILED
    sys.stdout.write(render_csv(rows) if args.csv else render_table(rows, args.grade))
    return EXIT_OK
