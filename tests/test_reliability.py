"""Fault injection against the simulator over real HTTP: deadlines, retries, bad data, auth.

For each fault: the scrape answers 200 inside its deadline, the failed target or SP is down
with the right reason, everything else is exported, and no secret reaches output or logs.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from exporter.scrape.running import Exporter
from simulator import Fault, Simulator
from tests.helpers import samples, serving, simulator_config, value, wait_until

REPORTS = "/service-providers/trunk-groups/call-capacity/reports"
TRUNK_GROUPS = "/groups/trunk-groups"
SCRAPE_TIMEOUT = 3.0
# Name prefixes of the exporter's worker threads (the simulator's hung handlers are not ours).
OWN_THREADS = ("odin-", "didww-", "collect-")


def scrape(url: str, path: str = "/metrics", timeout: float = SCRAPE_TIMEOUT) -> tuple[dict, float]:
    started = time.monotonic()
    response = requests.get(
        f"{url}{path}",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": str(timeout)},
        timeout=timeout + 5,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return samples(response.text), elapsed


def sp_up(parsed: dict, service_provider: str) -> float | None:
    return value(
        parsed, "odin_service_provider_up", target="odin-demo", service_provider=service_provider
    )


def errors(parsed: dict, target: str, reason: str) -> float | None:
    return value(
        parsed, "trunk_capacity_exporter_collect_errors_total", target=target, reason=reason
    )


def assert_no_secrets(simulator: Simulator, *texts: str) -> None:
    for text in texts:
        assert simulator.odin_password not in text
        assert simulator.didww_api_key not in text
        assert "Bearer ey" not in text  # an Odin JWT


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)


@pytest.mark.slow
def test_a_hanging_sp_report_is_down_as_timeout_and_the_scrape_meets_its_deadline(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.inject(
        Fault(api="odin", path=REPORTS, match={"serviceProviderId": "ent.globex"}, kind="hang")
    )
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, elapsed = scrape(url)
    assert elapsed < SCRAPE_TIMEOUT
    assert sp_up(parsed, "ent.globex") == 0
    assert sp_up(parsed, "ent.acme") == 1
    assert value(parsed, "odin_up", target="odin-demo") == 1
    assert value(parsed, "didww_up", target="didww-demo") == 1
    assert errors(parsed, "odin-demo", "timeout") >= 1
    assert_no_secrets(simulator, log_text(caplog))


@pytest.mark.slow
def test_a_hanging_didww_endpoint_downs_only_didww(simulator: Simulator) -> None:
    simulator.inject(Fault(api="didww", path="/balance", kind="hang"))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, elapsed = scrape(url)
    assert elapsed < SCRAPE_TIMEOUT
    assert value(parsed, "didww_up", target="didww-demo") == 0
    assert errors(parsed, "didww-demo", "timeout") >= 1
    assert value(parsed, "didww_capacity_pool_total_channels", target="didww-demo", pool="Extended")
    assert value(parsed, "odin_up", target="odin-demo") == 1


def test_429_with_retry_after_is_retried_within_the_deadline(simulator: Simulator) -> None:
    simulator.inject(
        Fault(api="didww", path="/balance", kind="status", status=429, retry_after=0.3, times=1)
    )
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, _ = scrape(url)
    assert value(parsed, "didww_up", target="didww-demo") == 1
    assert value(parsed, "didww_account_balance", target="didww-demo") is not None
    requests_429 = value(
        parsed,
        "trunk_capacity_exporter_upstream_requests_total",
        target="didww-demo",
        endpoint="/balance",
        code="429",
    )
    assert requests_429 == 1


@pytest.mark.slow
def test_transient_5xx_is_retried_and_persistent_5xx_is_http_error(simulator: Simulator) -> None:
    simulator.inject(
        Fault(
            api="odin", path=REPORTS, match={"serviceProviderId": "ent.acme"}, status=503, times=2
        )
    )
    simulator.inject(
        Fault(api="odin", path=REPORTS, match={"serviceProviderId": "ent.globex"}, status=500)
    )
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, elapsed = scrape(url)
    assert elapsed < SCRAPE_TIMEOUT
    assert sp_up(parsed, "ent.acme") == 1
    assert sp_up(parsed, "ent.globex") == 0
    # ent.globex; sp.legacy's 400 (no Trunk Group service) is a standing fact, not an error
    assert errors(parsed, "odin-demo", "http_error") == 1


@pytest.mark.parametrize(
    "kind", ["html", "malformed_json", "truncated_json", "wrong_type", "huge_body"]
)
def test_bad_report_bodies_down_the_sp_as_invalid_response_with_one_log_line(
    simulator: Simulator, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    simulator.inject(
        Fault(
            api="odin", path=REPORTS, match={"serviceProviderId": "ent.acme"}, kind=kind, status=200
        )
    )
    caplog.set_level(logging.WARNING)
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, elapsed = scrape(url)
    assert elapsed < SCRAPE_TIMEOUT
    assert sp_up(parsed, "ent.acme") == 0
    assert sp_up(parsed, "ent.globex") == 1
    assert errors(parsed, "odin-demo", "invalid_response") == 1
    (record,) = [r for r in caplog.records if getattr(r, "service_provider", "") == "ent.acme"]
    assert record.target == "odin-demo"
    assert record.endpoint == REPORTS
    assert record.reason == "invalid_response"
    assert record.exc_info is None
    assert "\n" not in record.getMessage()
    assert_no_secrets(simulator, log_text(caplog))


def test_a_didww_next_link_looping_back_costs_nothing_when_the_page_count_is_known(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    # The fault points links.next back at page 1 but keeps links.last: every page is read
    # by number, so the account stays up and the oddity is logged once. (Following a loop
    # without a known page count is an error: tests/test_didww_client.py.)
    simulator.inject(Fault(api="didww", path="/shared_capacity_groups", kind="pagination_loop"))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, elapsed = scrape(url)
    assert elapsed < SCRAPE_TIMEOUT
    assert value(parsed, "didww_up", target="didww-demo") == 1
    assert errors(parsed, "didww-demo", "invalid_response") == 0
    groups = [k for k in parsed if k[0] == "didww_shared_capacity_group_shared_channels"]
    assert len(groups) == len(simulator.dataset.didww.shared_capacity_groups)
    warnings = [r for r in caplog.records if "points back at page 1" in r.getMessage()]
    assert len(warnings) == 1


def test_wrong_types_in_didww_down_the_account_without_a_crash(simulator: Simulator) -> None:
    simulator.inject(Fault(api="didww", path="/capacity_pools", kind="wrong_type", status=200))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, _ = scrape(url)
    assert value(parsed, "didww_up", target="didww-demo") == 0
    assert errors(parsed, "didww-demo", "invalid_response") == 1
    assert value(parsed, "didww_account_balance", target="didww-demo") is not None


def test_didww_key_refused_is_auth_with_a_log_line_that_never_shows_the_key(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.inject(Fault(api="didww", path="/balance", status=401))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, _ = scrape(url)
        body = requests.get(f"{url}/metrics", timeout=10).text
    assert value(parsed, "didww_up", target="didww-demo") == 0
    assert errors(parsed, "didww-demo", "auth") == 1
    assert "2026-11-19" in log_text(caplog)
    assert_no_secrets(simulator, log_text(caplog), body)


def test_wrong_odin_password_is_auth_and_a_single_login_attempt(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    from exporter.config.section import Secret

    config = simulator_config(simulator, password=Secret("wrong-password-xyz"))
    with serving(Exporter(config)) as url:
        parsed, _ = scrape(url)
    assert value(parsed, "odin_up", target="odin-demo") == 0
    assert errors(parsed, "odin-demo", "auth") == 1
    assert simulator.stats.count("odin", path=REPORTS) == 0
    assert "wrong-password-xyz" not in log_text(caplog)


def test_an_expired_token_answer_causes_one_relogin_and_the_sp_stays_up(
    simulator: Simulator,
) -> None:
    simulator.inject(
        Fault(
            api="odin",
            path=REPORTS,
            match={"serviceProviderId": "ent.acme"},
            kind="expired_token",
            times=1,
        )
    )
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed, _ = scrape(url)
    assert sp_up(parsed, "ent.acme") == 1
    assert simulator.stats.logins == 2


@pytest.mark.slow
def test_token_expiry_during_a_run_never_reports_odin_down(simulator: Simulator) -> None:
    simulator.token_lifetime = 1.5
    with serving(Exporter(simulator_config(simulator, trunk_groups=False))) as url:
        for _ in range(8):
            parsed, _ = scrape(url)
            assert value(parsed, "odin_up", target="odin-demo") == 1
            assert sp_up(parsed, "ent.acme") == 1
            time.sleep(0.4)  # the run spans several token lifetimes: time passing is the test
    assert simulator.stats.logins >= 2


@pytest.mark.slow
def test_parallel_scrapes_share_one_upstream_collection(simulator: Simulator) -> None:
    simulator.latency = 0.2
    exporter = Exporter(simulator_config(simulator, trunk_groups=False))
    with serving(exporter) as url, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: scrape(url, timeout=5)[0], range(8)))
    assert all(value(r, "odin_up", target="odin-demo") == 1 for r in results)
    assert simulator.stats.count("odin", path=REPORTS, serviceProviderId="ent.acme") == 1
    assert simulator.stats.count("didww", path="/balance") == 1


def test_min_interval_serves_recent_data_with_its_age(simulator: Simulator) -> None:
    config = simulator_config(simulator, trunk_groups=False, min_interval=60.0)
    with serving(Exporter(config)) as url:
        first, _ = scrape(url)
        time.sleep(0.3)  # the age the second scrape must report
        second, _ = scrape(url)
    assert value(first, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") == 0
    assert value(second, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") >= 0.3
    assert simulator.stats.count("odin", path=REPORTS, serviceProviderId="ent.acme") == 1
    assert sp_up(second, "ent.acme") == 1


def test_a_failed_collection_is_not_cached(simulator: Simulator) -> None:
    simulator.inject(Fault(api="odin", path="/auth/token", status=503))
    config = simulator_config(simulator, trunk_groups=False, min_interval=60.0)
    with serving(Exporter(config)) as url:
        first, _ = scrape(url)
        simulator.clear_faults()
        second, _ = scrape(url)
    assert value(first, "odin_up", target="odin-demo") == 0
    assert value(second, "odin_up", target="odin-demo") == 1
    assert value(second, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") == 0


def test_fan_out_never_exceeds_max_concurrency_and_collects_each_trunk_group_once(
    simulator: Simulator,
) -> None:
    simulator.latency = 0.02
    config = simulator_config(simulator, max_concurrency=4, rate_limit=0.0)
    with serving(Exporter(config)) as url:
        parsed, _ = scrape(url, timeout=10)
    trunk_groups = [
        (sp.id, group.id, tg.name)
        for sp in simulator.dataset.odin.service_providers
        for group in sp.groups
        if group.trunking
        for tg in group.trunking.trunk_groups
    ]
    assert simulator.stats.max_in_flight("odin") <= 4
    assert simulator.stats.max_in_flight("odin") >= 3  # the pool was actually used
    for sp, group, name in trunk_groups:
        calls = simulator.stats.count(
            "odin", path=TRUNK_GROUPS, serviceProviderId=sp, groupId=group, name=name
        )
        assert calls == 1, name
    exported = [k for k in parsed if k[0] == "odin_trunk_group_max_active_calls"]
    assert len(exported) == len(trunk_groups)


@pytest.mark.slow
def test_collection_threads_do_not_outlive_a_hang_past_the_request_timeout(
    simulator: Simulator,
) -> None:
    simulator.inject(Fault(api="odin", path=REPORTS, kind="hang"))
    config = simulator_config(simulator, trunk_groups=False, timeout=1.0)
    with serving(Exporter(config)) as url:
        scrape(url, timeout=2.0)

        def lingering() -> list[str]:
            return [t.name for t in threading.enumerate() if t.name.startswith(OWN_THREADS)]

        # The hung requests' read timeout (1 s) ends them; a little more for the threads.
        wait_until(lambda: not lingering(), 1.5, "the collection threads to end")
    assert lingering() == []


def test_a_reload_keeps_unchanged_targets_token_and_cache(simulator: Simulator) -> None:
    config = simulator_config(simulator, trunk_groups=False, min_interval=60.0)
    exporter = Exporter(config)
    with serving(exporter) as url:
        scrape(url)
        exporter.apply_config(config)
        parsed, _ = scrape(url)
    assert simulator.stats.logins == 1
    assert simulator.stats.count("odin", path=REPORTS, serviceProviderId="ent.acme") == 1
    assert value(parsed, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") > 0


def test_a_collection_that_crashes_is_down_and_never_a_success(
    simulator: Simulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: object, deadline: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("exporter.vendors.didww.fetch.DidwwFetcher.collect", crash)
    config = simulator_config(simulator, min_interval=60.0)
    with serving(Exporter(config)) as url:
        first, _ = scrape(url)
        second, _ = scrape(url)
    for parsed in (first, second):
        assert value(parsed, "didww_up", target="didww-demo") == 0
        assert value(parsed, "odin_up", target="odin-demo") == 1
    assert (
        value(first, "trunk_capacity_exporter_last_success_timestamp_seconds", target="didww-demo")
        is None
    )
    crashes = [r for r in caplog.records if r.getMessage() == "collection failed unexpectedly"]
    # One per scrape: the failure was not cached in spite of min_interval.
    assert [r.target for r in crashes] == ["didww-demo", "didww-demo"]
