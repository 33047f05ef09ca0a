"""`make bench`: the exporter against the simulator, next to the bounds and the sequential client.

Prints one table and writes it into BENCHMARKS.md. Every simulator runs in its own process on
127.0.0.1 and is stopped at the end; the CPU and memory figures come from a separate process
that does nothing but the one measured scrape (see cpu_scrape.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from statistics import median
from typing import Any

from exporter.registry import Config
from exporter.vendors.odin.config import RefreshIntervals
from tests.bench import budget, report, sequential
from tests.bench.latency import ScrapeTimes, rounds, steady_state_requests, time_scrapes
from tests.bench.report import Row
from tests.bench.sequential import SequentialRun
from tests.bench.simulator_process import (
    CONCURRENCY,
    SimulatedOdin,
    exporter_config,
    simulated_odin,
)

LATENCY = 0.05  # seconds the simulator waits before each answer
RUNS = 7  # exporter scrapes per measured workload (medians)
SEQUENTIAL_RUNS = 2  # the sequential client is slow and steady (53 ms a call, +-0.5 %)
CPU_RUNS = 5  # exporter and prometheus_client runs, interleaved
FAN_OUT_SPS = 200
LINEARITY_SPS = (100, 200, 400)
GROUPS_PER_SP = 10
TRUNK_SPS, TRUNK_GROUPS_PER_SP, TRUNK_GROUPS_PER_GROUP = 2, 20, 4
CPU_SPS, CPU_GROUPS_PER_SP = 1000, 50
FAN_OUT_TARGET, TRUNK_TARGET = 1.05, 1.3  # scrape time / network-only bound
LINEARITY_SPREAD = 1.1  # the ratios to the bound at 100, 200 and 400 SPs stay within this
FAN_OUT_SPEED_UP, TRUNK_SPEED_UP = 13.5, 12.0  # sequential time / exporter time
CPU_TARGET, RSS_TARGET_MIB = 0.6, 160.0
HA_TARGET = 0.05  # CPU of an HA pair's second scrape / the first's
REPO = Path(__file__).resolve().parents[2]

_SP_UP = rb"^odin_service_provider_up\{.*\} 1\.0$"
_TARGET_UP = rb'^odin_up\{target="bench"\} 1\.0$'
_TRUNK_GROUP = rb"^odin_trunk_group_info\{"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def bound_row(workload: str, measured: float, rounds_: int, trip: float, target: float) -> Row:
    """A scrape against the network-only bound: rounds of one measured round trip each."""
    bound = trip * rounds_
    return Row(
        workload,
        seconds(measured),
        f"{rounds_} x {trip * 1000:.1f} ms round trip = {seconds(bound)}",
        ratio(measured / bound),
        f"≤ {target}x bound",
        measured / bound <= target,
    )


def round_trip(runs: list[SequentialRun]) -> float:
    """What one call takes on this machine (L and both ends' HTTP), from the sequential
    client's data calls: the network-only bound's unit, measured in the same run."""
    return median(run.after_login / (run.calls - 1) for run in runs)


def speed_up_row(
    workload: str, runs: list[SequentialRun], exporter: ScrapeTimes, target: float
) -> Row:
    """The sequential client against the exporter, judged in steady state.

    A running exporter logs in about once a day, so the judged figure compares its warm scrape
    with the sequential client's data calls alone; with a login on both sides (its cold scrape
    against the whole sequential run) is shown too. The time per call is the round trip of one
    request on this machine: L plus both ends' HTTP, which the L-only bound leaves out.
    """
    total = median(run.seconds for run in runs)
    after_login = median(run.after_login for run in runs)
    calls = runs[0].calls
    return Row(
        f"{workload} ({calls} calls one at a time, {total / calls * 1000:.1f} ms each)",
        seconds(total),
        f"exporter: warm {seconds(exporter.warm)}, cold {seconds(exporter.cold)}",
        f"{after_login / exporter.warm:.1f}x faster warm ({total / exporter.cold:.1f}x cold)",
        f"exporter ≥ {target:g}x faster",
        after_login / exporter.warm >= target,
    )


def report_fan_out() -> list[Row]:
    """Workloads 1, 3 (reports) and 5: one report per SP, no trunk groups."""
    rows: list[Row] = []
    with simulated_odin(max(LINEARITY_SPS), GROUPS_PER_SP, latency=LATENCY) as odin:
        sps = odin.service_provider_ids()
        times: dict[int, ScrapeTimes] = {}
        for count in LINEARITY_SPS:
            log(f"report fan-out: {count} SPs x {GROUPS_PER_SP} groups ...")
            times[count] = time_scrapes(
                exporter_config(odin, sps[:count]), RUNS, {_TARGET_UP: 1, _SP_UP: count}
            )
        log(f"sequential: a report per SP for {FAN_OUT_SPS} SPs, {SEQUENTIAL_RUNS} runs ...")
        sequential_runs = [
            sequential.timed(sequential.report_per_service_provider, odin, sps[:FAN_OUT_SPS])
            for _ in range(SEQUENTIAL_RUNS)
        ]
    data_rounds = rounds(FAN_OUT_SPS, CONCURRENCY)
    main = times[FAN_OUT_SPS]
    trip = round_trip(sequential_runs)
    title = f"1. Report fan-out, {FAN_OUT_SPS} SPs x {GROUPS_PER_SP} groups"
    rows.append(bound_row(f"{title}, warm scrape", main.warm, data_rounds, trip, FAN_OUT_TARGET))
    cold = bound_row(f"{title}, cold scrape (login first)", main.cold, 1 + data_rounds, trip, 0)
    rows.append(replace(cold, target="", met=None))
    rows.append(
        speed_up_row(
            "3. Sequential (odins_spear): login + a report per SP",
            sequential_runs,
            main,
            FAN_OUT_SPEED_UP,
        )
    )
    rows += linearity_rows({count: times[count].warm for count in times}, trip)
    return rows


def linearity_rows(times: dict[int, float], trip: float) -> list[Row]:
    """Warm scrape time per SP count against its bound; linear when the ratio stays put."""
    rows = []
    ratios = []
    for count, scrape in sorted(times.items()):
        row = bound_row(
            f"5. Linearity: {count} SPs x {GROUPS_PER_SP} groups, warm scrape",
            scrape,
            rounds(count, CONCURRENCY),
            trip,
            FAN_OUT_TARGET,
        )
        rows.append(replace(row, target="", met=None))
        ratios.append(scrape / (trip * rounds(count, CONCURRENCY)))
    spread = max(ratios) / min(ratios)
    rows.append(
        Row(
            f"5. Linearity: scrape time / bound at {', '.join(map(str, sorted(times)))} SPs",
            ", ".join(ratio(r) for r in ratios),
            "the bound grows linearly: round trip x ceil(N/C)",
            f"largest / smallest = {ratio(spread)}",
            f"≤ {LINEARITY_SPREAD}x",
            spread <= LINEARITY_SPREAD,
        )
    )
    return rows


def trunk_group_detail() -> list[Row]:
    """Workloads 2 and 3 (Scripter): reports, trunk-group lists and details."""
    with simulated_odin(
        TRUNK_SPS, TRUNK_GROUPS_PER_SP, TRUNK_GROUPS_PER_GROUP, latency=LATENCY
    ) as odin:
        sps = odin.service_provider_ids()
        trunk_groups = TRUNK_SPS * TRUNK_GROUPS_PER_SP * TRUNK_GROUPS_PER_GROUP
        log(f"trunk-group detail: {TRUNK_SPS} x {TRUNK_GROUPS_PER_SP} x {TRUNK_GROUPS_PER_GROUP}")
        times = time_scrapes(
            exporter_config(odin, sps, trunk_groups=True),
            RUNS,
            {_TARGET_UP: 1, _SP_UP: TRUNK_SPS, _TRUNK_GROUP: trunk_groups},
        )
        log(f"sequential: the Scripter's 2 + 2N + T calls per SP, {SEQUENTIAL_RUNS} runs ...")
        sequential_runs = [
            sequential.timed(sequential.scripter_trunking_capacity, odin, sps)
            for _ in range(SEQUENTIAL_RUNS)
        ]
    calls = TRUNK_SPS + TRUNK_SPS * TRUNK_GROUPS_PER_SP + trunk_groups
    # Independent calls need ceil(calls / C) rounds; report -> list -> detail is a chain of 3.
    data_rounds = max(rounds(calls, CONCURRENCY), 3)
    title = (
        f"2. Trunk-group detail, {TRUNK_SPS} SPs x {TRUNK_GROUPS_PER_SP} groups x "
        f"{TRUNK_GROUPS_PER_GROUP} trunk groups ({calls} calls)"
    )
    trip = round_trip(sequential_runs)
    cold = bound_row(f"{title}, cold scrape (login first)", times.cold, 1 + data_rounds, trip, 0)
    return [
        bound_row(f"{title}, warm scrape", times.warm, data_rounds, trip, TRUNK_TARGET),
        replace(cold, target="", met=None),
        speed_up_row(
            "3. Sequential (odins_spear Scripter): login + 2 + 2N + T per SP",
            sequential_runs,
            times,
            TRUNK_SPEED_UP,
        ),
    ]


def requests_per_scrape() -> list[Row]:
    """Workload 6: upstream requests of a steady-state scrape with the default refresh."""
    rows = []
    shapes = [
        (FAN_OUT_SPS, GROUPS_PER_SP, 0, False),
        (TRUNK_SPS, TRUNK_GROUPS_PER_SP, TRUNK_GROUPS_PER_GROUP, True),
    ]
    for sps, groups, trunk_groups, with_trunk_groups in shapes:
        with simulated_odin(sps, groups, trunk_groups) as odin:
            config = exporter_config(odin, odin.service_provider_ids(), with_trunk_groups)
            # Reports and lists kept as by default; every detail read (`trunk_group_details: 0s`).
            target = replace(config.targets[0], refresh=RefreshIntervals(trunk_group_details=0))
            made = steady_state_requests(Config(targets=(target,)))
        shape = f"{sps} SPs x {groups} groups" + (
            f" x {trunk_groups} trunk groups" if with_trunk_groups else ""
        )
        per_scrape = sps * groups * trunk_groups
        rows.append(
            Row(
                f"6. Upstream requests of a steady-state scrape, reports and lists kept, {shape}",
                f"{made}",
                f"{per_scrape} trunk groups (one detail each)",
                f"{made - per_scrape} others",
                "≤ 1 other (the SP list, with discovery)",
                made - per_scrape <= 1,
            )
        )
    return rows


def cpu_and_memory() -> list[Row]:
    """Workload 4: one scrape of 1,000 SPs x 50 groups without latency, in its own process."""
    exporter_runs: list[dict[str, float]] = []
    baseline_runs: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        simulated_odin(CPU_SPS, CPU_GROUPS_PER_SP) as odin,
    ):
        exposition, parsed = Path(scratch) / "exposition.txt", Path(scratch) / "parsed.pickle"
        for run in range(CPU_RUNS):
            log(f"CPU and memory: {CPU_SPS} SPs x {CPU_GROUPS_PER_SP} groups, run {run + 1} ...")
            exporter_runs.append(
                _measure_in_subprocess("exporter", *_odin_args(odin), str(exposition))
            )
            if run == 0:
                _measure_in_subprocess("parse", str(exposition), str(parsed))
            baseline_runs.append(_measure_in_subprocess("baseline", str(parsed)))
            log(
                f"  CPU: exporter {exporter_runs[-1]['cpu_seconds']:.2f} s, "
                f"prometheus_client alone {baseline_runs[-1]['cpu_seconds']:.2f} s"
            )
    exporter_cpu = median(r["cpu_seconds"] for r in exporter_runs)
    baseline_cpu = median(r["cpu_seconds"] for r in baseline_runs)
    peak = max(r["peak_rss_mib"] for r in exporter_runs)
    ha_first = median(r["ha_first_cpu_seconds"] for r in exporter_runs)
    ha_second = median(r["ha_second_cpu_seconds"] for r in exporter_runs)
    baseline_growth = max(r["peak_rss_mib"] - r["rss_before_mib"] for r in baseline_runs)
    samples = int(exporter_runs[0]["samples"])
    title = (
        f"4. One scrape of {CPU_SPS:,} SPs x {CPU_GROUPS_PER_SP} groups, no latency "
        f"({samples:,} samples)"
    )
    return [
        Row(
            f"{title}: CPU of the exporter process (HTTP, JSON, parse, render, stream)",
            seconds(exporter_cpu),
            f"prometheus_client add_metric + generate_latest: {seconds(baseline_cpu)}",
            ratio(exporter_cpu / baseline_cpu),
            f"≤ {CPU_TARGET}x",
            exporter_cpu / baseline_cpu <= CPU_TARGET,
        ),
        Row(
            f"{title}: peak RSS of the exporter process",
            f"{peak:.0f} MiB",
            f"prometheus_client alone: +{baseline_growth:.0f} MiB for its build + render",
            "",
            f"≤ {RSS_TARGET_MIB:.0f} MiB",
            peak <= RSS_TARGET_MIB,
        ),
        Row(
            f"{title}: an HA pair's second gzip scrape within min_interval, CPU",
            seconds(ha_second),
            f"the first gzip scrape: {seconds(ha_first)}",
            f"{ha_second / ha_first:.3f}x",
            f"≤ {HA_TARGET}x",
            ha_second / ha_first <= HA_TARGET,
        ),
    ]


def _odin_args(odin: SimulatedOdin) -> tuple[str, str, str]:
    return odin.url, odin.username, odin.password


def _measure_in_subprocess(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.cpu_scrape", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cpu_scrape {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> int:
    started = time.monotonic()
    rows = report_fan_out() + trunk_group_detail() + cpu_and_memory() + requests_per_scrape()
    rows += budget.odin_tenant() + budget.didww_account()
    rows.sort(key=lambda row: row.workload[:2])
    settings = (
        f"Latency workloads: L = {LATENCY * 1000:.0f} ms per request, C = max_concurrency = "
        f"{CONCURRENCY}, medians of {RUNS} scrapes ({SEQUENTIAL_RUNS} sequential runs); "
        f"CPU and RSS: medians of {CPU_RUNS} interleaved runs."
    )
    section = report.results_section(rows, settings, time.monotonic() - started)
    print(section)
    report.write_benchmarks(section)
    missed = [row for row in rows if row.met is False]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} targets met; wrote {report.BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
