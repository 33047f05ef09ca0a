"""The same work done the way the odins_spear library does it: one request at a time, in order.

odins_spear is not installed (see shared/api/odin.md, "Why not odins_spear"); its calling
pattern is reproduced with a plain `requests` session, which if anything flatters it: no
5 calls/s limiter, keep-alive connections, nothing done with the answers beyond decoding them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from tests.bench.simulator_process import SimulatedOdin

REPORT = "/service-providers/trunk-groups/call-capacity/reports"
GROUPS = "/groups"
TRUNK_GROUPS = "/groups/trunk-groups"


class SequentialOdin:
    """A logged-in session that makes one GET at a time and counts them."""

    def __init__(self, odin: SimulatedOdin) -> None:
        self._url = odin.url
        self._session = requests.Session()
        credentials = {"username": odin.username, "password": odin.password}
        login = self._session.post(f"{self._url}/auth/token", json=credentials, timeout=30)
        login.raise_for_status()
        self._session.headers["Authorization"] = f"Bearer {login.json()['token']}"
        self.calls = 1

    def get(self, path: str, **params: str) -> Any:
        response = self._session.get(self._url + path, params=params, timeout=30)
        response.raise_for_status()
        self.calls += 1
        return response.json()

    def close(self) -> None:
        self._session.close()


def report_per_service_provider(client: SequentialOdin, service_providers: Sequence[str]) -> None:
    """The call capacity report of each SP in turn."""
    for service_provider in service_providers:
        client.get(REPORT, serviceProviderId=service_provider)


def scripter_trunking_capacity(client: SequentialOdin, service_providers: Sequence[str]) -> None:
    """odins_spear's "Service Provider Trunking Capacity" script: 2 + 2N + T calls per SP.

    Per SP: the SP's trunking capacity and its group list; per group: the group's trunking
    capacity and its trunk group list; per trunk group: its detail. The simulator has no SP or
    group call-capacity endpoint, so the report and the group list stand in for them (every
    call costs the same injected latency, whatever its endpoint).
    """
    for sp in service_providers:
        client.get(REPORT, serviceProviderId=sp)  # for the SP's trunking capacity
        for group in client.get(GROUPS, serviceProviderId=sp):
            group_id = group["groupId"]
            client.get(GROUPS, serviceProviderId=sp)  # for the group's trunking capacity
            for trunk_group in client.get(TRUNK_GROUPS, serviceProviderId=sp, groupId=group_id):
                client.get(
                    TRUNK_GROUPS, serviceProviderId=sp, groupId=group_id, name=trunk_group["name"]
                )


@dataclass(frozen=True)
class SequentialRun:
    seconds: float  # login included
    after_login: float  # the data calls only
    calls: int  # login included


def timed(
    run: Callable[[SequentialOdin, Sequence[str]], None],
    odin: SimulatedOdin,
    service_providers: Sequence[str],
) -> SequentialRun:
    """One run: log in, then `run`'s calls one at a time."""
    started = time.perf_counter()
    client = SequentialOdin(odin)
    logged_in = time.perf_counter()
    try:
        run(client, service_providers)
    finally:
        client.close()
    ended = time.perf_counter()
    return SequentialRun(ended - started, ended - logged_in, client.calls)
