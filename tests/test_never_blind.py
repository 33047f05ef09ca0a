"""The exporter never looks healthy while blind (issue 9), against the simulator and `responses`.

Every failure of any part of a collection is an error with a reason that makes that part's up 0;
a standing "no" is not a failure; what arrived before the deadline is kept; nothing an upstream
sends can make a scrape answer 500.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.metrics_core import Metric

from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.core.snapshot import Part, SnapshotBuilder
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.serving.app import ExporterApp, ScrapeTimeouts
from exporter.vendors import odin
from exporter.vendors.didww.client import DidwwClient
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.odin.client import OdinClient
from exporter.vendors.odin.config import OdinTarget
from simulator import Fault, Simulator
from simulator.builders import generated_dataset
from tests.helpers import (
    parsed_families,
    sample_value,
    serving,
    simulator_config,
    snapshot_text,
    wait_until,
)

REPORTS = "/service-providers/trunk-groups/call-capacity/reports"
ODIN = "odin-demo"
DIDWW = "didww-demo"


def scrape_families(exporter: Exporter, seconds: float = 5.0) -> dict[str, Metric]:
    return parsed_families(exporter.scrape(Deadline(seconds)).chunks(openmetrics=False))


def scrape_once(config: Config) -> dict[str, Metric]:
    """One scrape of a fresh exporter, parsed; the exporter is closed after it."""
    exporter = Exporter(config)
    try:
        return scrape_families(exporter)
    finally:
        exporter.close()


def errors(families: dict[str, Metric], target: str, reason: str) -> float | None:
    return sample_value(
        families, "trunk_capacity_exporter_collect_errors_total", target=target, reason=reason
    )


def sp_up(families: dict[str, Metric], service_provider: str) -> float | None:
    return sample_value(
        families, "odin_service_provider_up", target=ODIN, service_provider=service_provider
    )


# (client class, method, scope it belongs to): every kind of task a collection runs.
TASKS = [
    (OdinClient, "fetch_trunk_call_capacity_report", "sp"),
    (OdinClient, "list_trunk_group_names", "sp"),
    (OdinClient, "fetch_trunk_group_detail", "sp"),
    (OdinClient, "list_service_providers", "odin"),
    (DidwwClient, "fetch_page", "didww"),
    (DidwwClient, "fetch_balance", "didww"),
    (DidwwClient, "count_dids", "didww"),
    (DidwwClient, "fetch_voice_out_trunks_page", "didww"),
]


@pytest.mark.parametrize(("client", "method", "scope"), TASKS)
def test_an_exception_in_any_task_is_an_internal_error_that_downs_its_part(
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    client: type,
    method: str,
    scope: str,
) -> None:
    original = getattr(client, method)
    crashed = threading.Event()

    def crash(self: Any, *args: Any) -> Any:
        """The first call of the task (for an SP task: of ent.acme) raises."""
        if not crashed.is_set() and (scope != "sp" or args[0] == "ent.acme"):
            crashed.set()
            raise KeyError("simulated bug")
        return original(self, *args)

    monkeypatch.setattr(client, method, crash)
    families = scrape_once(simulator_config(simulator))
    target = DIDWW if scope == "didww" else ODIN
    assert errors(families, target, "internal") == 1
    if scope == "sp":
        assert sp_up(families, "ent.acme") == 0
        assert sp_up(families, "ent.globex") == 1
        assert sample_value(families, "odin_up", target=ODIN) == 1
    else:
        up = f"{scope}_up"
        assert sample_value(families, up, target=target) == 0
    other = ODIN if target == DIDWW else DIDWW
    assert errors(families, other, "internal") == 0
    tracebacks = [r for r in caplog.records if r.exc_info and "simulated bug" in str(r.exc_info[1])]
    assert len(tracebacks) == 1, "logged once, with its traceback"


def test_deeply_nested_json_is_an_invalid_response_not_an_empty_account(
    simulator: Simulator,
) -> None:
    simulator.inject(Fault(api="didww", path="/capacity_pools", kind="deep_json"))
    families = scrape_once(simulator_config(simulator))
    assert sample_value(families, "didww_up", target=DIDWW) == 0
    assert errors(families, DIDWW, "invalid_response") == 1
    assert errors(families, DIDWW, "internal") == 0


def test_an_sp_without_trunking_is_up_and_does_not_hold_back_last_success(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = Exporter(simulator_config(simulator))
    try:
        with caplog.at_level(logging.INFO):
            first = scrape_families(exporter)
            second = scrape_families(exporter)
    finally:
        exporter.close()
    for families in (first, second):
        labels = {"target": ODIN, "service_provider": "sp.legacy"}
        assert sample_value(families, "odin_service_provider_up", **labels) == 1
        assert sample_value(families, "odin_service_provider_trunking_enabled", **labels) == 0
        assert sample_value(families, "odin_service_provider_max_active_calls", **labels) is None
        assert errors(families, ODIN, "http_error") == 0
    success = "trunk_capacity_exporter_last_success_timestamp_seconds"
    assert sample_value(second, success, target=ODIN) is not None
    noted = [r for r in caplog.records if "no Trunk Group service" in r.getMessage()]
    assert len(noted) == 1, "logged once when first seen, not on every scrape"


def test_a_403_to_a_fresh_token_is_a_permission_error_without_further_logins(
    simulator: Simulator,
) -> None:
    simulator.inject(
        Fault(api="odin", path=REPORTS, match={"serviceProviderId": "ent.acme"}, status=403)
    )
    families = scrape_once(simulator_config(simulator))
    assert simulator.stats.logins == 1
    assert sp_up(families, "ent.acme") == 0
    assert sp_up(families, "ent.globex") == 1
    assert errors(families, ODIN, "auth") == 1


def test_probe_writes_no_empty_family_and_no_process_metrics(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        probe = requests.get(f"{url}/probe", params={"target": DIDWW}, timeout=10).text
        metrics = requests.get(f"{url}/metrics", timeout=10).text
    assert "# HELP odin_" not in probe
    assert "process_resident_memory_bytes" not in probe
    for families in (parsed_families(probe), parsed_families(metrics)):
        empty = [name for name, family in families.items() if not family.samples]
        assert empty == []
    for name in ("process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds"):
        assert f"\n{name}" in metrics, name


@pytest.mark.slow
def test_what_the_latency_cannot_answer_in_time_is_deferred_not_failed() -> None:
    """3,000 discovered SPs at 50 ms a call, 8 in flight: about 1,200 fit into a 9.5 s scrape.
    The budget plans those (the discovery showed the latency) and defers the rest: no SP is
    down, nothing times out, the rest is pending for the next scrapes."""
    dataset = generated_dataset(service_providers=3000, groups_per_sp=1, capacity_groups=1)
    with Simulator(dataset, latency=0.05) as simulator:
        config = simulator_config(simulator, trunk_groups=False)
        exporter = Exporter(Config(targets=config.targets[:1]))
        try:
            started = time.monotonic()
            scrape = exporter.scrape(Deadline(9.5))
            elapsed = time.monotonic() - started
        finally:
            exporter.close()
        answered = simulator.stats.count("odin", path=REPORTS)
    families = parsed_families(scrape.chunks(openmetrics=False))
    ups = families["odin_service_provider_up"].samples
    assert elapsed < 9.5 + 0.3
    assert [sample for sample in ups if sample.value == 0] == []
    assert len(ups) == answered > 200  # hundreds, even on a loaded machine
    pending = sample_value(
        families, "trunk_capacity_exporter_data_kind_pending", target=ODIN, data="reports"
    )
    assert pending == 3000 - answered
    assert sample_value(families, "odin_up", target=ODIN) == 1
    assert errors(families, ODIN, "timeout") == 0


@pytest.mark.slow
def test_partial_data_past_the_deadline_is_kept_with_one_summary_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The upstream slows down from 50 ms to 200 ms a call a second into the scrape, after the
    budget was planned: what arrived before the deadline is kept, the rest of the planned SPs
    are timeouts, summed up in one log line."""
    dataset = generated_dataset(service_providers=3000, groups_per_sp=1, capacity_groups=1)
    with Simulator(dataset, latency=0.05) as simulator:
        config = simulator_config(simulator, trunk_groups=False)
        exporter = Exporter(Config(targets=config.targets[:1]))
        slow_down = threading.Timer(1.0, lambda: setattr(simulator.settings, "latency", 0.2))
        try:
            slow_down.start()
            started = time.monotonic()
            scrape = exporter.scrape(Deadline(9.5))
            elapsed = time.monotonic() - started
        finally:
            slow_down.cancel()
            exporter.close()
        answered = simulator.stats.count("odin", path=REPORTS)
    families = parsed_families(scrape.chunks(openmetrics=False))
    ups = families["odin_service_provider_up"].samples
    up = sum(1 for sample in ups if sample.value == 1)
    down = len(ups) - up
    assert elapsed < 9.5 + 0.3  # the hand-over grace is 0.25 s
    # Every report answered before the deadline is exported; at most the 8 in flight at the
    # deadline were answered too late to count.
    assert answered - 8 <= up <= answered
    assert up > 100 and down > 100
    assert sample_value(families, "odin_up", target=ODIN) == 1
    assert errors(families, ODIN, "timeout") == down
    summaries = [r for r in caplog.records if "parts unfinished" in r.getMessage()]
    assert len(summaries) == 1
    per_sp = [r for r in caplog.records if getattr(r, "reason", "") == "timeout"]
    assert per_sp == summaries, "no log line per SP"


@pytest.mark.slow
def test_a_didww_account_of_50000_dids_is_collected_within_the_cap_and_the_deadline() -> None:
    dataset = generated_dataset(
        service_providers=0, capacity_groups=50, dids_per_capacity_group=1000
    )
    assert sum(len(group.dids) for group in dataset.didww.shared_capacity_groups) == 50_000
    with Simulator(dataset) as simulator:
        config = simulator_config(simulator)
        exporter = Exporter(Config(targets=config.targets[1:]))
        try:
            started = time.monotonic()
            families = scrape_families(exporter, seconds=9.5)
            elapsed = time.monotonic() - started
        finally:
            exporter.close()
    assert sample_value(families, "didww_up", target=DIDWW) == 1
    dids = families["didww_shared_capacity_group_dids"].samples
    assert sum(sample.value for sample in dids) == 50_000
    assert elapsed < 5


def test_a_body_over_the_cap_is_down_with_a_reason_that_names_the_cap(
    simulator: Simulator,
) -> None:
    simulator.inject(Fault(api="didww", path="/shared_capacity_groups", kind="huge_body"))
    exporter = Exporter(simulator_config(simulator))
    try:
        snapshot = exporter.scrape(Deadline(5)).outcomes[1].snapshot
    finally:
        exporter.close()
    assert not snapshot.up
    assert any("exceeds 8 MiB" in error.detail for error in snapshot.errors)


@responses.activate
def test_the_older_report_shape_reads_each_trunk_groups_detail() -> None:
    base = "https://odin.test/api/v2"
    responses.add(responses.POST, f"{base}/auth/token", json={"token": "a.e30.b"})
    legacy = {
        "serviceProviderTrunkCapacity": {"maxActiveCalls": 20},
        "groupTrunkGroupDetails": [{"groupId": "g1", "name": "tg-old", "maxActiveCalls": 8}],
    }
    responses.add(responses.GET, f"{base}{REPORTS}", json=legacy)
    detail = responses.add(
        responses.GET,
        f"{base}/groups/trunk-groups",
        json={
            "name": "tg-old",
            "maxActiveCalls": 8,
            "totalActiveIncomingCalls": 3,
            "totalActiveOutgoingCalls": 1,
        },
    )
    target = OdinTarget(
        name="old",
        url=base,
        username="u",
        password=Secret("p"),
        service_providers=("sp.old",),
        trunk_groups=True,
    )
    families = scrape_once(Config(targets=(target,)))
    assert detail.call_count == 1
    labels = {"target": "old", "service_provider": "sp.old", "group": "g1", "trunk_group": "tg-old"}
    calls = "odin_trunk_group_active_calls"
    assert sample_value(families, calls, **labels, direction="incoming") == 3
    assert sample_value(families, "odin_trunk_group_max_active_calls", **labels) == 8
    assert "odin_trunk_group_info" not in families  # no state in the answer: no sample
    assert (
        sample_value(families, "odin_service_provider_up", target="old", service_provider="sp.old")
        == 1
    )


# Names and ids from an upstream: any JSON string, lone surrogates and control characters too.
names = st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=12)


def odin_and_didww_answers(
    mock: responses.RequestsMock, sp_name: str, group_name: str, pool_name: str, pool_id: str
) -> None:
    odin, didww = "https://odin.test/api/v2", "https://didww.test/v3"
    mock.add(responses.POST, f"{odin}/auth/token", json={"token": "a.e30.b"})
    mock.add(
        responses.GET,
        f"{odin}/service-providers",
        json=[{"serviceProviderId": sp_name}, {"serviceProviderId": "sp.good"}],
    )
    report = {
        "serviceProviderTrunkCapacity": {"maxActiveCalls": 10},
        "groups": [
            {"groupId": group_name, "groupName": group_name},
            {"groupId": "g.good", "groupName": "Good"},
        ],
    }
    mock.add(responses.GET, f"{odin}{REPORTS}", json=report)
    pools = [
        {"id": pool_id, "type": "capacity_pools", "attributes": {"name": pool_name}},
        {"id": "p.good", "type": "capacity_pools", "attributes": {"name": "Good"}},
    ]
    meta = {"total_records": 2, "api_version": pool_name}
    mock.add(responses.GET, f"{didww}/capacity_pools", json={"data": pools, "meta": meta})
    for empty in ("shared_capacity_groups", "voice_in_trunks", "voice_in_trunk_groups"):
        mock.add(responses.GET, f"{didww}/{empty}", json={"data": []})
    mock.add(responses.GET, f"{didww}/voice_out_trunks", status=403, json={"errors": []})
    mock.add(responses.GET, f"{didww}/balance", json={"data": {"attributes": {}}})


def answer_of(app: ExporterApp, path: str, query: str = "") -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]]) -> None:
        status.append(line)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    body = b"".join(app(environ, start_response))
    return status[0], body


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sp_name=names, group_name=names, pool_name=names, pool_id=names)
def test_no_upstream_string_makes_a_scrape_fail(
    sp_name: str, group_name: str, pool_name: str, pool_id: str
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        odin_and_didww_answers(mock, sp_name, group_name, pool_name, pool_id)
        config = Config(
            targets=(
                OdinTarget(
                    name="odin",
                    url="https://odin.test/api/v2",
                    username="u",
                    password=Secret("p"),
                    discover=True,
                ),
                DidwwTarget(
                    name="didww", url="https://didww.test/v3", api_key=Secret("k"), rate_limit=0
                ),
            ),
        )
        exporter = Exporter(config)
        app = ExporterApp(exporter, ScrapeTimeouts(default=5.0))
        try:
            answers = [answer_of(app, "/metrics"), answer_of(app, "/probe", "target=didww")]
        finally:
            exporter.close()
    for status, body in answers:
        assert status == "200 OK"
        families = parsed_families(body.decode())
        assert families  # a parseable exposition
    metrics = parsed_families(answers[0][1].decode())
    good_sp = {"target": "odin", "service_provider": "sp.good"}
    assert sample_value(metrics, "odin_service_provider_max_active_calls", **good_sp) == 10
    good_group = {**good_sp, "group": "g.good"}
    assert sample_value(metrics, "odin_group_info", **good_group, group_name="Good") == 1
    good_pool = {"target": "didww", "pool": "Good", "pool_id": "p.good"}
    assert sample_value(metrics, "didww_capacity_pool_info", **good_pool) == 1


class TricklingUpstream:
    """A TCP server on loopback that answers every connection with a status line and then
    response headers one byte at a time, forever."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self.open = 0  # connections the client has not closed yet
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self._stopping.wait(0.05):
                    connection.sendall(b"X")
            except OSError:  # the client is gone
                pass
        with self._lock:
            self.open -= 1

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()


@pytest.fixture
def trickling() -> Iterator[TricklingUpstream]:
    upstream = TricklingUpstream()
    yield upstream
    upstream.stop()


def own_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(("odin-", "collect-")))


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_an_upstream_trickling_its_headers_leaks_nothing_over_20_scrapes(
    trickling: TricklingUpstream,
) -> None:
    target = OdinTarget(
        name="trickle",
        url=trickling.url,
        username="u",
        password=Secret("p"),
        service_providers=("sp.a",),
        timeout=0.5,
    )
    exporter = Exporter(Config(targets=(target,)))
    threads_before, fds_before = own_threads(), open_descriptors()
    try:
        for _ in range(20):
            started = time.monotonic()
            families = scrape_families(exporter, seconds=1.0)
            assert time.monotonic() - started < 1.0 + 0.3
            assert sample_value(families, "odin_up", target="trickle") == 0
        # What a scrape leaves behind ends within moments; a leak stays.
        wait_until(
            lambda: own_threads() <= threads_before and open_descriptors() <= fds_before + 1,
            2,
            "the collections' threads and connections to end",
        )
        threads_after, fds_after = own_threads(), open_descriptors()
        timeouts = errors(families, "trickle", "timeout")
    finally:
        exporter.close()
    assert threads_after <= threads_before
    assert fds_after <= fds_before + 1  # at most one pooled connection may stay
    assert timeouts == 20
    assert trickling.connections >= 20
    wait_until(lambda: trickling.open <= 1, 2, "the trickling upstream to see its clients leave")
    assert trickling.open <= 1, "every connection the trickling upstream saw was closed"


@pytest.mark.slow
def test_a_hanging_name_lookup_is_a_timeout_inside_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> Any:
        released.wait(10)
        raise socket.gaierror("released")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    target = OdinTarget(
        name="dns",
        url="http://odin.invalid/api/v2",
        username="u",
        password=Secret("p"),
        service_providers=("sp.a",),
    )
    exporter = Exporter(Config(targets=(target,)))
    try:
        started = time.monotonic()
        families = scrape_families(exporter, seconds=1.5)
        elapsed = time.monotonic() - started
    finally:
        released.set()
        exporter.close()
    assert elapsed < 1.5 + 0.3
    assert sample_value(families, "odin_up", target="dns") == 0
    assert errors(families, "dns", "timeout") == 1


def test_deep_json_for_an_sp_downs_only_that_sp_as_invalid_response(simulator: Simulator) -> None:
    simulator.inject(
        Fault(api="odin", path=REPORTS, match={"serviceProviderId": "ent.acme"}, kind="deep_json")
    )
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    families = parsed_families(response.text)
    assert sp_up(families, "ent.acme") == 0
    assert sp_up(families, "ent.globex") == 1
    assert errors(families, ODIN, "invalid_response") == 1
    assert errors(families, ODIN, "internal") == 0


def test_a_collection_that_cannot_start_is_down_with_a_reason_and_the_next_one_runs(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_start = threading.Thread.start
    refused: list[str] = []

    def out_of_threads_once(thread: threading.Thread) -> None:
        if thread.name == f"collect-{ODIN}" and not refused:
            refused.append(thread.name)
            raise RuntimeError("can't start new thread")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", out_of_threads_once)
    exporter = Exporter(simulator_config(simulator))
    try:
        with caplog.at_level(logging.ERROR, logger="exporter.scrape.sources"):
            first = scrape_families(exporter)
        second = scrape_families(exporter)
    finally:
        exporter.close()
    assert refused == [f"collect-{ODIN}"]
    assert sample_value(first, "odin_up", target=ODIN) == 0
    assert errors(first, ODIN, "internal") == 1
    assert "cannot start a collection" in caplog.text
    assert sample_value(first, "didww_up", target=DIDWW) == 1
    assert sample_value(second, "odin_up", target=ODIN) == 1  # not stuck on the lost one


def test_a_task_dropped_before_a_worker_took_it_is_a_timeout_of_its_scope() -> None:
    """An SP whose report arrived but whose trunk-group calls were still queued at the
    deadline (the queue is dropped then) is down, with a timeout; the other SP stays up."""
    builder = SnapshotBuilder("odin-t", odin.UP_FAMILIES)
    builder.expect(["sp.a", "sp.b"])
    for service_provider in ("sp.a", "sp.b"):
        builder.add_part(Part(service_provider, (), {}), main=True)
    builder.task("sp.b", lambda: None)  # submitted, never run

    snapshot = builder.build(deadline_missed=True)

    assert [(error.scope, error.reason) for error in snapshot.errors] == [("sp.b", "timeout")]
    families = parsed_families(snapshot_text(odin.VENDOR, snapshot))
    assert sample_value(families, "odin_up", target="odin-t") == 1
    assert (
        sample_value(families, "odin_service_provider_up", target="odin-t", service_provider="sp.a")
        == 1
    )
    assert (
        sample_value(families, "odin_service_provider_up", target="odin-t", service_provider="sp.b")
        == 0
    )


def test_a_scrape_that_gives_up_on_a_shared_collection_counts_its_timeout(
    simulator: Simulator,
) -> None:
    """A /probe with a short timeout joins the collection a /metrics scrape with a longer one
    started; it is down with a counted reason even though that collection ends well."""
    simulator.latency = 0.6
    exporter = Exporter(simulator_config(simulator))
    try:
        first = threading.Thread(target=scrape_families, args=(exporter, 1.5))
        first.start()
        wait_until(lambda: simulator.stats.count("odin"), 5, "the first scrape's collection")
        joined = parsed_families(
            exporter.scrape(Deadline(0.2), target=ODIN).chunks(openmetrics=False)
        )
        first.join(timeout=10)
    finally:
        exporter.close()
    assert sample_value(joined, "odin_up", target=ODIN) == 0
    assert errors(joined, ODIN, "timeout") == 1


def test_a_400_that_is_not_odins_own_answer_is_a_failure_not_no_trunking(
    simulator: Simulator,
) -> None:
    """A proxy's HTML 400 in front of Odin says nothing about the Trunk Group service."""
    simulator.inject(
        Fault(
            api="odin",
            path="/service-providers/trunk-groups/call-capacity/reports",
            match={"serviceProviderId": "ent.acme"},
            kind="html",
            status=400,
        )
    )
    families = scrape_once(simulator_config(simulator))
    acme = {"target": ODIN, "service_provider": "ent.acme"}
    assert sp_up(families, "ent.acme") == 0
    assert sample_value(families, "odin_service_provider_trunking_enabled", **acme) is None
    assert errors(families, ODIN, "http_error") == 1
