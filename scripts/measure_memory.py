"""Peak memory of the real exporter process serving /metrics for an Odin of a given shape.

    python scripts/measure_memory.py SPS GROUPS_PER_SP [TRUNK_GROUPS_PER_GROUP] [--pair]
        [--every-scrape]

Starts the simulator (`python -m simulator`) with that many service providers, groups
and trunk groups, and the exporter (`python -m exporter`) on a config listing every SP, both on
127.0.0.1 (no rate limit, the default `refresh`, or with --every-scrape every kind read on
every scrape); scrapes /metrics once, then with --pair twice
at once as an HA pair of Prometheus servers may, then gzipped and plain; then prints, as a
Markdown table row, the samples served, the exporter's resident memory when idle, at its peak
(VmHWM) and after the scrapes, and the CPU time (user + system) of the first scrape (which
fetches everything) and of the last (steady state: what `refresh` keeps is not fetched again).
docs/deployment.md sizes Kubernetes requests and limits from these figures. Run it from a
checkout: `PYTHONPATH=. .venv/bin/python scripts/measure_memory.py ...`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.bench.simulator_process import SimulatedOdin, simulated_odin

SCRAPE_TIMEOUT = {"X-Prometheus-Scrape-Timeout-Seconds": "290"}


# The exporter's start-up line: `... msg=listening address=127.0.0.1:40009 tls=False ...`.
_LISTENING = re.compile(r"\bmsg=listening .*?\baddress=(?P<address>\S+)")


def memory_mib(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config_text(odin: SimulatedOdin, trunk_groups: bool, every_scrape: bool) -> str:
    text = (
        "odin:\n  - name: measured\n"
        f"    url: {odin.url}\n    username: {odin.username}\n    password: {odin.password}\n"
        f"    service_providers: [{', '.join(odin.service_provider_ids())}]\n"
        # No rate limit: the figures are the exporter's, not the limiter's.
        "    max_concurrency: 16\n    timeout: 60s\n    rate_limit: 0\n"
        f"    trunk_groups: {str(trunk_groups).lower()}\n"
    )
    if every_scrape:
        text += "    refresh: {reports: 0s, trunk_group_lists: 0s, trunk_group_details: 0s}\n"
    return text


def start_exporter(config: Path) -> tuple[subprocess.Popen[str], str]:
    """The exporter on a port of its own choosing (127.0.0.1:0), and its URL, read back from its
    start-up line; its log is drained in a thread so that it never blocks on a full pipe."""
    command = [sys.executable, "-m", "exporter", "--config.file", str(config)]
    command += ["--web.listen-address", "127.0.0.1:0", "--log.level", "info"]
    exporter = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert exporter.stderr is not None
    for line in exporter.stderr:
        match = _LISTENING.search(line)
        if match:
            threading.Thread(target=exporter.stderr.read, daemon=True).start()
            return exporter, f"http://{match['address'].split(',')[0]}"
    exporter.wait(timeout=30)
    raise RuntimeError(f"the exporter exited with {exporter.returncode} before listening")


def scrape(url: str, encoding: str = "identity") -> int:
    """One /metrics scrape; the number of samples it answered."""
    headers = {**SCRAPE_TIMEOUT, "Accept-Encoding": encoding}
    response = requests.get(f"{url}/metrics", headers=headers, timeout=300)
    response.raise_for_status()
    return sum(1 for line in response.text.splitlines() if line and not line.startswith("#"))


def wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"the exporter exited with {process.returncode}")
        try:
            requests.get(f"{url}/-/healthy", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the exporter did not answer /-/healthy")


def measure(sps: int, groups: int, trunk_groups: int, pair: bool, every_scrape: bool) -> str:
    with simulated_odin(sps, groups, trunk_groups) as odin, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.yml")
        config.write_text(config_text(odin, trunk_groups > 0, every_scrape))
        exporter, url = start_exporter(config)
        try:
            wait_healthy(url, exporter)
            idle = memory_mib(exporter.pid, "VmRSS")
            cold = cpu_seconds(exporter.pid)
            scrape(url)  # the first scrape logs in and fetches every kind of data
            cold = cpu_seconds(exporter.pid) - cold
            if pair:
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(lambda _: scrape(url), range(2)))
            scrape(url, "gzip")
            warm = cpu_seconds(exporter.pid)
            samples = scrape(url)  # steady state: the default `refresh` keeps what it may
            warm = cpu_seconds(exporter.pid) - warm
            peak, after = memory_mib(exporter.pid, "VmHWM"), memory_mib(exporter.pid, "VmRSS")
        finally:
            exporter.terminate()
            exporter.wait(timeout=30)
    shape = f"{sps} SPs x {groups} groups" + (
        f" x {trunk_groups} trunk groups" if trunk_groups else ""
    )
    shape += ", every call every scrape" if every_scrape else ""
    return (
        f"| {shape}{' (pair)' if pair else ''} | {samples:,} | {idle:.0f} MiB | {peak:.0f} MiB "
        f"| {after:.0f} MiB | {cold:.2f} s | {warm:.2f} s |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sps", type=int)
    parser.add_argument("groups", type=int)
    parser.add_argument("trunk_groups", type=int, nargs="?", default=0)
    parser.add_argument("--pair", action="store_true", help="two overlapping scrapes first")
    parser.add_argument(
        "--every-scrape", action="store_true", help="refresh 0s: every call on every scrape"
    )
    args = parser.parse_args()
    print(measure(args.sps, args.groups, args.trunk_groups, args.pair, args.every_scrape))
    return 0


if __name__ == "__main__":
    sys.exit(main())
