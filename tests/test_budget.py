"""The call budget: every scrape up, within the target's rate, the hot data first, the rest in
turns, and what was deferred counted, never failed.

The shapes are the issue's (a tenant with hundreds of trunk groups, an account with hundreds of
capacity groups) scaled down with the rate and the scrape time, so that the budget binds as
hard as it does at full size: BENCHMARKS.md has the full-size figures from `make bench`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import responses
from prometheus_client.metrics_core import Metric

from exporter.config.section import Secret
from exporter.core.budget import PLANNED_SHARE, CallBudget, CollectionClock, Throttle, refresh_share
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.telemetry import Telemetry
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.upstream.http_client import RateLimiter, UpstreamSession
from exporter.vendors.didww.config import DidwwRefresh, DidwwTarget
from exporter.vendors.odin.config import OdinTarget, RefreshIntervals
from exporter.vendors.odin.fetch import OdinFetcher
from simulator import Fault, Simulator, generated_dataset
from tests.helpers import parsed_families, sample_value, simulator_config

TRUNK_GROUPS = "/groups/trunk-groups"
DIDS = "/dids"


class Left:
    """A deadline with this much time left, whenever asked."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def remaining(self) -> float:
        return self.seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_is_the_planned_share_of_the_time_at_the_rate() -> None:
    throttle = Throttle(10.0)
    assert throttle.budget(Left(10.0)).left == math.floor(10 * 10 * PLANNED_SHARE)
    assert Throttle(0.0).budget(Left(10.0)).left is None  # no limit, no budget


def test_429s_halve_the_rate_once_per_collection_down_to_a_floor_and_clean_ones_win_it_back() -> (
    None
):
    throttle = Throttle(8.0)
    for _ in range(5):  # a burst of 429s in one collection
        throttle.rate_limited()
    throttle.collection_ended()
    assert throttle.rate == 4.0
    for _ in range(10):
        throttle.rate_limited()
        throttle.collection_ended()
    assert throttle.rate == pytest.approx(0.8)  # never below a tenth of the limit
    for _ in range(20):
        throttle.collection_ended()
    assert throttle.rate == 8.0  # and never above the limit


def test_the_budget_plans_no_more_calls_than_the_calls_in_flight_can_answer() -> None:
    throttle = Throttle(50.0, concurrency=8)
    assert throttle.budget(Left(10.0)).left == math.floor(50 * 10 * PLANNED_SHARE)  # no latency yet
    for _ in range(20):
        throttle.answered(0.3)  # 8 in flight at 0.3 s: about 27 answers a second, not 50
    assert throttle.budget(Left(10.0)).left == math.floor(8 * 10 * PLANNED_SHARE / 0.3)
    unlimited = Throttle(0.0, concurrency=4)
    unlimited.answered(0.5)
    assert unlimited.budget(Left(10.0)).left == math.floor(4 * 10 * PLANNED_SHARE / 0.5)


def test_retry_after_keeps_the_next_budget_out_of_that_time() -> None:
    clock = FakeClock()
    throttle = Throttle(10.0, clock=clock)
    throttle.rate_limited(retry_after=6.0)
    # 10 s of scrape, 6 of them quiet, at the halved rate of 5/s.
    assert throttle.budget(Left(10.0)).left == math.floor(5.0 * 4.0 * PLANNED_SHARE)
    clock.now += 6.0
    assert throttle.budget(Left(10.0)).left == math.floor(5.0 * 10.0 * PLANNED_SHARE)


def test_a_budget_gives_out_calls_until_spent_and_forced_calls_never_overdraw() -> None:
    budget = CallBudget(3)
    assert budget.take(2) and not budget.take(2) and budget.take()
    assert not budget.take()
    budget.spend(5)
    assert budget.left == 0
    unlimited = CallBudget(None)
    assert all(unlimited.take() for _ in range(1000))
    too_late = CallBudget(10, Left(0.2), latency=0.3)  # would answer after the deadline
    assert not too_late.take()


def test_an_item_is_claimed_once_per_collection_and_only_within_the_budget() -> None:
    budget = CallBudget(2)
    assert budget.claim(("reports", "sp1")) and budget.claimed(("reports", "sp1"))
    assert not budget.claim(("reports", "sp1"))  # read once, whichever task asks again
    assert budget.left == 1
    assert budget.claim(("reports", "sp2"))
    assert not budget.claim(("reports", "sp3")) and not budget.claimed(("reports", "sp3"))


@pytest.mark.parametrize(
    ("known", "interval", "period", "share"),
    [
        (2500, 120.0, 10.0, 260),  # a quarter more than the steady 2500 / 12
        (100, 300.0, 10.0, 4),
        (3, 3600.0, 10.0, 0),  # too few to read ahead: each is read when it falls due
        (40, 0.0, 10.0, 40),  # interval 0: all of them
        (0, 60.0, 10.0, 0),
        (10, 1.0, 60.0, 10),  # never more than there are
    ],
)
def test_a_kind_is_refreshed_in_turns_of_a_little_more_than_its_steady_share(
    known: int, interval: float, period: float, share: int
) -> None:
    assert refresh_share(known, interval, period) == share


def test_the_collection_clock_measures_the_scrape_interval() -> None:
    clock = FakeClock()
    collections = CollectionClock(first_guess=15.0, clock=clock)
    assert collections.tick() == 15.0
    clock.now += 30.0
    assert collections.tick() == 30.0


class Told:
    def __init__(self) -> None:
        self.rate_limited_with: list[float | None] = []
        self.answers = 0

    def answered(self, seconds: float) -> None:
        self.answers += 1

    def rate_limited(self, retry_after: float | None) -> None:
        self.rate_limited_with.append(retry_after)


@responses.activate
def test_the_session_reports_every_answer_and_every_429_with_its_retry_after() -> None:
    told = Told()
    session = UpstreamSession(
        target="t",
        base_url="https://api.test",
        timeout=5.0,
        max_concurrency=1,
        rate_limit=0.0,
        tls=OdinTarget(name="t", url="https://api.test", username="u", password=Secret("p")).tls,
        telemetry=Telemetry(),
        observer=told,
    )
    responses.add(responses.GET, "https://api.test/x", status=429, headers={"Retry-After": "0"})
    responses.add(responses.GET, "https://api.test/x", status=429)
    responses.add(responses.GET, "https://api.test/x", status=200, json={})
    assert session.request("GET", "/x", deadline=Deadline(10)).status == 200
    assert told.rate_limited_with == [0.0, None]
    assert told.answers == 3


def test_after_a_retry_after_no_request_leaves_before_it() -> None:
    limiter = RateLimiter(0.0)
    limiter.hold(0.3)
    started = time.monotonic()
    limiter.wait(Deadline(5), "/x")
    assert time.monotonic() - started >= 0.29
    limiter.hold(10.0)
    with pytest.raises(UpstreamError) as refused:
        limiter.wait(Deadline(0.2), "/x")  # not before the deadline: a timeout at it
    assert refused.value.reason == "timeout"


# --- Odin: a tenant whose trunk groups do not fit into one scrape ----------------------------

SCRAPE_SECONDS = 1.5
ODIN_RATE = 100.0
ODIN_BUDGET = math.floor(ODIN_RATE * SCRAPE_SECONDS * PLANNED_SHARE)  # 120 calls a scrape
DETAIL_BOUND = 6.0


@pytest.fixture
def tenant() -> Iterator[Simulator]:
    """10 SPs x 4 groups x 5 trunk groups: 251 calls to read once, about twice the budget;
    a tenth of the trunk groups always near their limit."""
    dataset = generated_dataset(
        service_providers=10,
        groups_per_sp=4,
        trunk_groups_per_group=5,
        pools=0,
        capacity_groups=0,
        hot_share=0.1,
    )
    with Simulator(dataset) as simulator:
        yield simulator


def odin_tenant_config(simulator: Simulator) -> Config:
    target = OdinTarget(
        name="odin",
        url=simulator.odin_url,
        username=simulator.odin_username,
        password=Secret(simulator.odin_password),
        discover=True,
        rate_limit=ODIN_RATE,
        refresh=RefreshIntervals(trunk_group_details=DETAIL_BOUND),
    )
    return Config(targets=(target,))


def scrape(exporter: Exporter) -> dict[str, Metric]:
    return parsed_families(exporter.scrape(Deadline(SCRAPE_SECONDS)).chunks(openmetrics=False))


def own(families: dict[str, Metric], name: str, **labels: str) -> float | None:
    return sample_value(families, f"trunk_capacity_exporter_{name}", **labels)


def detail_reads(simulator: Simulator, names: list[tuple[str, str, str]]) -> dict[str, int]:
    return {
        tg: simulator.stats.count("odin", path=TRUNK_GROUPS, groupId=group, name=tg)
        for _, group, tg in names
    }


def trunk_groups_of(simulator: Simulator, hot: bool) -> list[tuple[str, str, str]]:
    return [
        (sp.id, group.id, tg.name)
        for sp in simulator.dataset.odin.service_providers
        for group in sp.groups
        if group.trunking
        for tg in group.trunking.trunk_groups
        if (tg.load.base >= 0.9) == hot
    ]


@pytest.mark.slow
def test_a_tenant_larger_than_a_scrape_is_up_on_every_scrape_and_covered_in_turns(
    tenant: Simulator,
) -> None:
    everything = 1 + 10 + 40 + 200
    expected_scrapes = math.ceil(everything / (ODIN_BUDGET - 2))
    exporter = Exporter(odin_tenant_config(tenant))
    try:
        pending_seen = []
        for _ in range(expected_scrapes + 1):
            before = tenant.stats.count("odin")
            families = scrape(exporter)
            made = tenant.stats.count("odin") - before
            assert sample_value(families, "odin_up", target="odin") == 1
            assert made <= ODIN_BUDGET + 1  # the budget, and a login on the first scrape
            pending = own(families, "data_kind_pending", target="odin", data="trunk_group_details")
            pending_seen.append(pending)
        assert pending_seen[0] is not None and pending_seen[0] > 0  # deferred, and said so
        assert pending_seen[-1] == 0
        assert len(families["odin_trunk_group_active_calls"].samples) == 2 * 200
        assert own(families, "collect_errors_total", target="odin", reason="timeout") == 0
    finally:
        exporter.close()


@pytest.mark.slow
def test_hot_trunk_groups_are_read_on_every_scrape_and_none_is_older_than_the_bound(
    tenant: Simulator,
) -> None:
    exporter = Exporter(odin_tenant_config(tenant))
    hot, cold = trunk_groups_of(tenant, hot=True), trunk_groups_of(tenant, hot=False)
    assert 10 <= len(hot) <= 35
    try:
        for _ in range(4):  # a cold start, then a first read of each trunk group
            scrape(exporter)
        for _ in range(4):
            before_hot, before_cold = detail_reads(tenant, hot), detail_reads(tenant, cold)
            families = scrape(exporter)
            after_hot, after_cold = detail_reads(tenant, hot), detail_reads(tenant, cold)
            assert {tg: after_hot[tg] - before_hot[tg] for tg in after_hot} == dict.fromkeys(
                after_hot, 1
            )
            cold_reads = sum(after_cold.values()) - sum(before_cold.values())
            assert cold_reads < len(cold)  # in turns, not all at once
            age = own(families, "data_kind_age_seconds", target="odin", data="trunk_group_details")
            assert age is not None and age <= DETAIL_BOUND + SCRAPE_SECONDS
            assert sample_value(families, "odin_up", target="odin") == 1
    finally:
        exporter.close()


def test_every_trunk_group_of_an_sp_near_its_cap_is_read_on_every_scrape(
    simulator: Simulator,
) -> None:
    """Acme's trunk groups add up to its cap of 40 while the fax trunk group idles far below
    its own limit: the SP's alert sums them all, so the idle one is read every scrape too (a
    count two minutes old would hide the SP at its cap). An SP with unlimited caps is not."""
    sps = {sp.id: sp for sp in simulator.dataset.odin.service_providers}

    def trunk_groups(sp_id: str) -> list[tuple[str, str, str]]:
        sp = sps[sp_id]
        return [
            (sp.id, group.id, tg.name)
            for group in sp.groups
            if group.trunking
            for tg in group.trunking.trunk_groups
        ]

    acme, unlimited = trunk_groups("ent.acme"), trunk_groups("sp.northwind")
    assert ("ent.acme", "acme.hq", "acme-hq-fax") in acme and unlimited
    exporter = Exporter(simulator_config(simulator))
    try:
        for _ in range(3):  # lists, then a first read of every trunk group
            scrape(exporter)
        before_acme, before_other = (
            detail_reads(simulator, acme),
            detail_reads(simulator, unlimited),
        )
        for _ in range(3):
            scrape(exporter)
        after_acme, after_other = detail_reads(simulator, acme), detail_reads(simulator, unlimited)
    finally:
        exporter.close()
    assert {tg: after_acme[tg] - before_acme[tg] for tg in after_acme} == dict.fromkeys(
        after_acme, 3
    )
    assert sum(after_other.values()) - sum(before_other.values()) < 3 * len(unlimited)


# --- DIDWW: an account whose DID counts do not fit into one scrape ----------------------------

DIDWW_RATE = 20.0
DIDWW_BUDGET = math.floor(DIDWW_RATE * SCRAPE_SECONDS * PLANNED_SHARE)  # 24 calls a scrape


@pytest.fixture
def wholesale() -> Iterator[Simulator]:
    """150 shared capacity groups on 2 pages: 150 DID counts, six times the budget. The
    simulator refuses more than the key's limit with 429, as DIDWW does."""
    dataset = generated_dataset(
        service_providers=0, pools=3, capacity_groups=150, dids_per_capacity_group=2
    )
    with Simulator(dataset) as simulator:
        simulator.settings.didww_rate_limit = DIDWW_RATE * 1.25
        yield simulator


def didww_config(simulator: Simulator) -> Config:
    target = DidwwTarget(
        name="didww",
        url=simulator.didww_url,
        api_key=Secret(simulator.didww_api_key),
        rate_limit=DIDWW_RATE,
        refresh=DidwwRefresh(),
    )
    return Config(targets=(target,))


@pytest.mark.slow
def test_an_account_larger_than_a_scrape_is_up_counts_its_dids_in_turns_then_costs_one_call(
    wholesale: Simulator,
) -> None:
    exporter = Exporter(didww_config(wholesale))
    # A first scrape reads every kind (balance, pools, 2 pages of groups, trunks), then the
    # DID counts follow at the budget less the balance.
    expected_scrapes = 1 + math.ceil(150 / (DIDWW_BUDGET - 1))
    try:
        for scrape_number in range(1, expected_scrapes + 3):
            before = wholesale.stats.count("didww")
            families = scrape(exporter)
            made = wholesale.stats.count("didww") - before
            assert sample_value(families, "didww_up", target="didww") == 1, scrape_number
            assert made <= DIDWW_BUDGET + 1
            pending = own(families, "data_kind_pending", target="didww", data="did_counts")
            dids = families.get("didww_shared_capacity_group_dids")
            counted = len(dids.samples) if dids is not None else 0
            assert counted + (pending or 0) == 150  # every group either counted or pending
            # Every pool and group limit on every scrape, DID counts or not.
            assert len(families["didww_shared_capacity_group_shared_channels"].samples) == 150
        assert pending == 0
        assert made == 1  # steady state: the balance, nothing else is due
        rate_limited = [
            s
            for s in families["trunk_capacity_exporter_upstream_requests"].samples
            if s.labels.get("code") == "429"
        ]
        assert rate_limited == []
    finally:
        exporter.close()


def test_live_calls_are_read_by_default_and_turning_them_off_is_said_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = {"name": "o", "url": "https://odin.test", "username": "u", "password": Secret("p")}
    assert OdinTarget(**settings).trunk_groups is True
    with caplog.at_level("WARNING", logger="exporter.vendors.odin.fetch"):
        OdinFetcher(OdinTarget(**settings, trunk_groups=False), Telemetry()).close()
    (record,) = caplog.records
    assert "saturation alerts" in record.getMessage() and record.target == "o"


# --- Spread, don't stampede ------------------------------------------------------------------


def test_reports_read_together_are_reread_in_turns_not_all_in_one_scrape(
    tenant: Simulator,
) -> None:
    """A cold start reads every report at once; after it they are read a few at a time, ahead
    of their interval, so that no scrape re-reads them all when the interval expires."""
    config = odin_tenant_config(tenant)
    target = replace(config.targets[0], trunk_groups=False, refresh=RefreshIntervals(reports=3.0))
    exporter = Exporter(Config(targets=(target,)))
    reports = "/service-providers/trunk-groups/call-capacity/reports"
    read_per_scrape = []
    try:
        scrape(exporter)  # the cold start: all 10 reports
        for _ in range(12):
            time.sleep(0.5)  # the behaviour under test: scrapes at an interval
            before = tenant.stats.count("odin", path=reports)
            families = scrape(exporter)
            read_per_scrape.append(tenant.stats.count("odin", path=reports) - before)
            assert sample_value(families, "odin_up", target="odin") == 1
    finally:
        exporter.close()
    assert max(read_per_scrape) < 10  # never all of them at once
    assert sum(read_per_scrape) >= 10  # and each read again within the 6 s


def test_didww_kinds_falling_due_together_are_refreshed_one_per_scrape(
    simulator: Simulator,
) -> None:
    config = simulator_config(simulator)
    _, didww = config.targets
    refresh = DidwwRefresh(pools=0.3, groups=0.3, trunks=0.3, did_counts=3600.0)
    exporter = Exporter(Config(targets=(replace(didww, refresh=refresh),)))
    kinds = {
        "pools": "/capacity_pools",
        "groups": "/shared_capacity_groups",
        "trunks": "/voice_in_trunk_groups",
    }
    try:
        scrape(exporter)
        time.sleep(0.4)  # the behaviour under test: all three kinds are now due
        refreshed = []
        for _ in range(3):
            before = {kind: simulator.stats.count("didww", path=p) for kind, p in kinds.items()}
            families = scrape(exporter)
            after = {kind: simulator.stats.count("didww", path=p) for kind, p in kinds.items()}
            refreshed.append([kind for kind in kinds if after[kind] > before[kind]])
            assert sample_value(families, "didww_up", target="didww-demo") == 1
    finally:
        exporter.close()
    assert [len(kinds_read) for kinds_read in refreshed] == [1, 1, 1]
    assert sorted(kind for kinds_read in refreshed for kind in kinds_read) == sorted(kinds)


# --- What is kept is never more than what was read, and never hides what was wrong -----------

REPORTS_PATH = "/service-providers/trunk-groups/call-capacity/reports"


def trunk_group_samples(families: dict[str, Metric], service_provider: str) -> int:
    calls = families.get("odin_trunk_group_active_calls")
    samples = calls.samples if calls is not None else []
    return sum(1 for s in samples if s.labels["service_provider"] == service_provider)


def test_a_report_that_fails_at_refresh_0s_keeps_its_trunk_groups_known() -> None:
    """At `reports: 0s` the report's lines are let go while it is read again; if that read
    fails, its groups are still known, so the next scrape serves the SP whole."""
    dataset = generated_dataset(
        service_providers=3, groups_per_sp=2, trunk_groups_per_group=3, pools=0, capacity_groups=0
    )
    with Simulator(dataset) as simulator:
        sp = simulator.dataset.odin.service_providers[0].id
        config = odin_tenant_config(simulator)
        target = replace(config.targets[0], rate_limit=0.0, refresh=RefreshIntervals(reports=0.0))
        exporter = Exporter(Config(targets=(target,)))
        try:
            assert trunk_group_samples(scrape(exporter), sp) == 2 * 6
            simulator.inject(
                Fault(api="odin", path=REPORTS_PATH, match={"serviceProviderId": sp}, status=503)
            )
            failed = scrape(exporter)
            simulator.clear_faults()
            after = scrape(exporter)
        finally:
            exporter.close()
    up = "odin_service_provider_up"
    assert sample_value(failed, up, target="odin", service_provider=sp) == 0
    assert sample_value(after, up, target="odin", service_provider=sp) == 1
    assert trunk_group_samples(after, sp) == 2 * 6


def test_a_kept_report_with_an_invalid_group_downs_its_sp_on_every_scrape_it_is_served(
    simulator: Simulator,
) -> None:
    """A report read with an invalid group is kept (the rest of it is good) and served for its
    refresh interval: its SP is down on every one of those scrapes, not only the first."""
    sp = simulator.dataset.odin.service_providers[0]
    sp.groups[0].id = "bad\u0085group"
    simulator.data_changed()
    exporter = Exporter(simulator_config(simulator))
    try:
        first, second = scrape(exporter), scrape(exporter)
    finally:
        exporter.close()
    for families in (first, second):
        up = sample_value(
            families, "odin_service_provider_up", target="odin-demo", service_provider=sp.id
        )
        assert up == 0
    assert own(second, "data_kind_age_seconds", target="odin-demo", data="reports") > 0


@pytest.mark.slow
def test_a_didww_kind_cut_off_by_the_deadline_is_not_kept_as_complete() -> None:
    dataset = generated_dataset(
        service_providers=0, pools=3, capacity_groups=150, dids_per_capacity_group=2
    )
    with Simulator(dataset) as simulator:
        target = replace(didww_config(simulator).targets[0], rate_limit=0.0, max_concurrency=1)
        exporter = Exporter(Config(targets=(target,)))
        groups = "didww_shared_capacity_group_shared_channels"
        try:
            simulator.settings.latency = 0.25
            cut = parsed_families(exporter.scrape(Deadline(1.5)).chunks(openmetrics=False))
            simulator.settings.latency = 0.0
            after = scrape(exporter)
        finally:
            exporter.close()
    assert sample_value(cut, "didww_up", target="didww") == 0
    assert len(cut[groups].samples) < 150  # what arrived is shown, with up 0
    assert sample_value(after, "didww_up", target="didww") == 1
    assert len(after[groups].samples) == 150  # read whole again, not the cut read kept


@pytest.mark.slow
def test_a_didww_cold_start_pays_for_every_kind_before_any_did_count(
    wholesale: Simulator,
) -> None:
    """DID counts of the first groups page wait until every page of every kind read for the
    first time is paid for: the budget's leftover counts DIDs, never the trunks' pages."""
    target = replace(didww_config(wholesale).targets[0])
    exporter = Exporter(Config(targets=(target,)))
    dids = "/dids"
    try:
        families = scrape(exporter)
        counted = wholesale.stats.count("didww", path=dids)
    finally:
        exporter.close()
    assert 0 < counted <= DIDWW_BUDGET - 1 - 1 - 2 - 3  # the balance, pools, groups, trunks
    assert own(families, "data_kind_pending", target="didww", data="trunks") == 0
    assert len(families["didww_shared_capacity_group_shared_channels"].samples) == 150


@pytest.mark.slow
def test_a_slow_upstream_defers_what_its_latency_cannot_answer_instead_of_timing_out() -> None:
    """At 0.3 s an answer and 8 in flight, Odin answers about 26 calls a second, not the 50 of
    the rate limit: the budget plans what the latency allows, so nothing fails at the
    deadline and the rest is read on later scrapes."""
    dataset = generated_dataset(
        service_providers=30, groups_per_sp=4, trunk_groups_per_group=5, pools=0, capacity_groups=0
    )
    with Simulator(dataset) as simulator:
        simulator.settings.latency = 0.3
        target = replace(odin_tenant_config(simulator).targets[0], rate_limit=50.0)
        exporter = Exporter(Config(targets=(target,)))
        try:
            for _ in range(4):
                families = parsed_families(exporter.scrape(Deadline(4.0)).chunks(openmetrics=False))
                down = [s for s in families["odin_service_provider_up"].samples if s.value == 0]
                assert down == []
                assert own(families, "collect_errors_total", target="odin", reason="timeout") == 0
        finally:
            exporter.close()


def test_an_odin_with_no_time_left_for_any_report_is_down_not_an_empty_account(
    simulator: Simulator,
) -> None:
    """The login eats the scrape: the budget plans no report and none is kept. That is a
    target the exporter cannot see, not one without service providers."""
    simulator.latency = 0.5  # the login, and what the budget expects any call to take
    odin = simulator_config(simulator).targets[0]
    assert isinstance(odin, OdinTarget)
    odin = replace(odin, discover=False, service_providers=("ent.acme",))
    fetcher = OdinFetcher(odin, Telemetry())
    try:
        snapshot = fetcher.collect(Deadline(0.8))
    finally:
        fetcher.close()
    assert not snapshot.up
    assert [e.detail for e in snapshot.errors if e.reason == "timeout"] == [
        "no time left to read any SP's report"
    ]
