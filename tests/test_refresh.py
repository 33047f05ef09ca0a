"""Each kind of Odin data is refreshed at its own pace, and a failed refresh is still an error."""

from __future__ import annotations

import time
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric

from exporter.core.deadline import Deadline
from exporter.core.kept import KeptAnswers
from exporter.scrape.running import Exporter
from exporter.vendors.odin.config import RefreshIntervals
from simulator import Fault, Simulator
from tests.helpers import parsed_families, sample_value, simulator_config

REPORTS = "/service-providers/trunk-groups/call-capacity/reports"
TRUNK_GROUPS = "/groups/trunk-groups"
ODIN = "odin-demo"


def scrape(exporter: Exporter) -> dict[str, Metric]:
    return parsed_families(exporter.scrape(Deadline(5)).chunks(openmetrics=False))


def odin_calls(simulator: Simulator) -> dict[str, int]:
    """Odin requests so far: reports, trunk-group lists and details, discoveries, logins."""
    details = sum(
        simulator.stats.count("odin", path=TRUNK_GROUPS, groupId=group.id, name=tg.name)
        for sp in simulator.dataset.odin.service_providers
        for group in sp.groups
        if group.trunking
        for tg in group.trunking.trunk_groups
    )
    return {
        "reports": simulator.stats.count("odin", path=REPORTS),
        "lists": simulator.stats.count("odin", path=TRUNK_GROUPS) - details,
        "details": details,
        "other": simulator.stats.count("odin")
        - simulator.stats.count("odin", path=REPORTS)
        - simulator.stats.count("odin", path=TRUNK_GROUPS),
    }


def trunk_group_count(simulator: Simulator) -> int:
    return sum(
        len(group.trunking.trunk_groups)
        for sp in simulator.dataset.odin.service_providers
        for group in sp.groups
        if group.trunking
    )


def kind_age(families: dict[str, Metric], kind: str) -> float | None:
    return sample_value(
        families, "trunk_capacity_exporter_data_kind_age_seconds", target=ODIN, data=kind
    )


def test_with_details_every_scrape_a_steady_scrape_reads_each_detail_and_nothing_else(
    simulator: Simulator,
) -> None:
    """`trunk_group_details: 0s`: every trunk group on every scrape, reports and lists kept."""
    refresh = RefreshIntervals(trunk_group_details=0.0)
    exporter = Exporter(simulator_config(simulator, refresh=refresh))
    try:
        scrape(exporter)
        before = odin_calls(simulator)
        families = scrape(exporter)
        after = odin_calls(simulator)
    finally:
        exporter.close()
    made = {kind: after[kind] - before[kind] for kind in after}
    assert made == {
        "reports": 0,
        "lists": 0,
        "details": trunk_group_count(simulator),
        "other": 1,  # discovery: the SP list is read on every collection
    }
    assert sample_value(families, "odin_up", target=ODIN) == 1
    assert len(families["odin_group_max_active_calls"].samples) > 0
    assert kind_age(families, "reports") > 0
    assert kind_age(families, "trunk_group_lists") > 0
    assert kind_age(families, "trunk_group_details") == 0


def scrape_after_a_failed_refresh(simulator: Simulator, fault: Fault) -> dict[str, Metric]:
    """A scrape whose report refreshes meet `fault`, after one that kept every report."""
    refresh = RefreshIntervals(reports=0.2, trunk_group_lists=0.2, trunk_group_details=0.0)
    exporter = Exporter(simulator_config(simulator, refresh=refresh))
    try:
        scrape(exporter)
        time.sleep(0.3)  # the kept reports age past their 0.2 s refresh interval
        simulator.inject(fault)
        return scrape(exporter)
    finally:
        exporter.close()


@pytest.mark.slow
def test_a_failed_refresh_is_an_error_and_the_kept_report_is_served_beside_it(
    simulator: Simulator,
) -> None:
    acme_fault = Fault(
        api="odin", path=REPORTS, match={"serviceProviderId": "ent.acme"}, status=503
    )
    families = scrape_after_a_failed_refresh(simulator, acme_fault)
    acme = {"target": ODIN, "service_provider": "ent.acme"}
    assert sample_value(families, "odin_service_provider_up", **acme) == 0
    assert (
        sample_value(
            families,
            "trunk_capacity_exporter_collect_errors_total",
            target=ODIN,
            reason="http_error",
        )
        == 1
    )
    assert sample_value(families, "odin_service_provider_max_active_calls", **acme) == 40
    assert kind_age(families, "reports") >= 0.3


@pytest.mark.slow
def test_with_every_interval_at_zero_every_scrape_reads_everything(simulator: Simulator) -> None:
    refresh = RefreshIntervals(0.0, 0.0, 0.0)
    exporter = Exporter(simulator_config(simulator, refresh=refresh))
    try:
        scrape(exporter)
        before = odin_calls(simulator)
        scrape(exporter)
        after = odin_calls(simulator)
    finally:
        exporter.close()
    assert after["reports"] - before["reports"] == len(simulator.dataset.odin.service_providers)
    assert after["lists"] - before["lists"] > 0


def test_with_every_refresh_failing_odin_is_down_beside_the_kept_reports(
    simulator: Simulator,
) -> None:
    families = scrape_after_a_failed_refresh(simulator, Fault(api="odin", path=REPORTS, status=503))
    assert sample_value(families, "odin_up", target=ODIN) == 0
    sp_up = families["odin_service_provider_up"].samples
    assert sp_up and all(sample.value == 0 for sample in sp_up)
    acme = {"target": ODIN, "service_provider": "ent.acme"}
    assert sample_value(families, "odin_service_provider_max_active_calls", **acme) == 40


def test_answers_kept_for_an_sp_no_longer_wanted_are_forgotten() -> None:
    kept: KeptAnswers[Any, str] = KeptAnswers(60.0)
    kept.keep("sp.a", "report a")
    kept.keep(("sp.a", "g1"), "list of sp.a")
    kept.keep(("sp.b", "g1", "tg"), "detail of sp.b")

    kept.retain({"sp.b"})

    assert kept.last("sp.a") is None and kept.last(("sp.a", "g1")) is None
    last = kept.last(("sp.b", "g1", "tg"))
    assert last is not None and last.value == "detail of sp.b"
