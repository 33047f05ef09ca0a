"""The simulator in its own process, so that its CPU time never counts as the exporter's."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from exporter.config.section import Secret
from exporter.registry import Config
from exporter.vendors.odin.config import OdinTarget, RefreshIntervals

_ODIN_LINE = re.compile(
    r"^Odin:\s+(?P<url>http://127\.0\.0\.1:\d+\S*)\s+username=(?P<user>\S+) "
    r"password=(?P<password>\S+)$"
)


CONCURRENCY = 16  # max_concurrency of every benchmarked scrape


@dataclass(frozen=True)
class SimulatedOdin:
    url: str
    username: str
    password: str

    def service_provider_ids(self) -> tuple[str, ...]:
        """Every SP the simulator knows, fetched before any measurement: the exporter gets them
        as an explicit `service_providers` list, so a scrape makes no discovery call."""
        with requests.Session() as session:
            credentials = {"username": self.username, "password": self.password}
            login = session.post(f"{self.url}/auth/token", json=credentials, timeout=30)
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            listed = session.get(f"{self.url}/service-providers", headers=headers, timeout=30)
            listed.raise_for_status()
            return tuple(row["serviceProviderId"] for row in listed.json())


def exporter_config(
    odin: SimulatedOdin,
    service_providers: Sequence[str],
    trunk_groups: bool = False,
    min_interval: float = 0.0,
) -> Config:
    """One Odin target: these SPs, the benchmark's concurrency, no rate limit, no discovery,
    and every kind of data fetched on every scrape (what is measured is the fetching)."""
    target = OdinTarget(
        name="bench",
        url=odin.url,
        username=odin.username,
        password=Secret(odin.password),
        service_providers=tuple(service_providers),
        trunk_groups=trunk_groups,
        max_concurrency=CONCURRENCY,
        timeout=30.0,
        min_interval=min_interval,
        rate_limit=0.0,
        refresh=RefreshIntervals(0.0, 0.0, 0.0),
    )
    return Config(targets=(target,))


@contextmanager
def simulated_odin(
    service_providers: int,
    groups_per_sp: int,
    trunk_groups_per_group: int = 0,
    latency: float = 0.0,
) -> Iterator[SimulatedOdin]:
    """`python -m simulator` on a free loopback port, stopped (SIGTERM) on exit."""
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--listen",
        "127.0.0.1:0",
        "--service-providers",
        str(service_providers),
        "--groups-per-sp",
        str(groups_per_sp),
        "--trunk-groups-per-group",
        str(trunk_groups_per_group),
        "--latency",
        str(latency),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        yield _read_address(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_address(process: subprocess.Popen[str]) -> SimulatedOdin:
    """The Odin URL and credentials from the simulator's first line of output."""
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = _ODIN_LINE.match(line)
    if match is None:
        raise RuntimeError(f"the simulator did not start (exit {process.poll()}): {line!r}")
    return SimulatedOdin(match["url"], match["user"], match["password"])
