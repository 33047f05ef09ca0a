"""Vendor metric families, driven through a private CollectorRegistry, on the seed documents.

Each vendor renders its parts into exposition lines; `registry_of` reads a snapshot back through
prometheus_client's parser, so every assertion is on samples as a scraper would see them.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from exporter.chain import LINK_INFO, LINK_RESOLVED
from exporter.core.deadline import Deadline
from exporter.core.exposition import Family
from exporter.core.snapshot import CollectionError, Part, Snapshot, SnapshotBuilder
from exporter.core.vendor import Vendor
from exporter.demo import demo_config
from exporter.registry import VENDORS
from exporter.scrape.running import Exporter
from exporter.vendors import didww, odin
from exporter.vendors.didww.client import INCLUDED_TYPES
from exporter.vendors.didww.metrics import AccountData, account_lines
from exporter.vendors.didww.models import (
    AccountBalance,
    parse_capacity_pool,
    parse_page,
    parse_shared_capacity_group,
)
from exporter.vendors.odin.metrics import no_trunking_lines, report_lines, trunk_group_lines
from exporter.vendors.odin.models import TrunkGroup, parse_trunk_call_capacity_report
from simulator import Simulator
from tests.helpers import parsed_families, snapshot_text

FIXTURES = Path(__file__).parent / "fixtures"
ODIN_SEED = json.loads((FIXTURES / "odin_report_seed.json").read_text())
DIDWW_SEED = json.loads((FIXTURES / "didww_shared_capacity_groups_seed.json").read_text())
T = "odin-prod"


class SnapshotCollector:
    """A snapshot's exposition as prometheus_client families."""

    def __init__(self, vendor: Vendor, snapshot: Snapshot) -> None:
        self._text = snapshot_text(vendor, snapshot)

    def collect(self) -> Iterator[Metric]:
        return iter(parsed_families(self._text).values())


def registry_of(vendor: Vendor, snapshot: Snapshot) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(vendor, snapshot))
    return registry


def odin_snapshot(report: dict[str, Any], *parts: Part, sp: str = "ent.odin") -> Snapshot:
    builder = SnapshotBuilder(T, odin.UP_FAMILIES)
    builder.expect([sp, "sp.legacy"])
    builder.add_part(
        Part(sp, (), report_lines(T, parse_trunk_call_capacity_report(report, sp))), main=True
    )
    for part in parts:
        builder.add_part(part)
    builder.fail(CollectionError("http_error", "/reports", "HTTP 500", "sp.legacy"))
    return builder.build()


def odin_seed_registry(*parts: Part) -> CollectorRegistry:
    return registry_of(odin.VENDOR, odin_snapshot(ODIN_SEED, *parts))


def group_value(registry: CollectorRegistry, name: str, group: str) -> float | None:
    labels = {"target": T, "service_provider": "ent.odin", "group": group}
    return registry.get_sample_value(name, labels)


def test_odin_seed_service_provider_values_and_unlimited_bursting() -> None:
    registry = odin_seed_registry()
    sp = {"target": T, "service_provider": "ent.odin"}
    assert registry.get_sample_value("odin_up", {"target": T}) == 1
    assert registry.get_sample_value("odin_service_provider_up", sp) == 1
    assert registry.get_sample_value("odin_service_provider_trunking_enabled", sp) == 1
    assert registry.get_sample_value("odin_service_provider_max_active_calls", sp) == 40
    assert registry.get_sample_value("odin_service_provider_bursting_max_active_calls", sp) == (
        math.inf
    )
    failed = {"target": T, "service_provider": "sp.legacy"}
    assert registry.get_sample_value("odin_service_provider_up", failed) == 0
    assert registry.get_sample_value("odin_service_provider_max_active_calls", failed) is None


def test_odin_seed_group_values() -> None:
    registry = odin_seed_registry()
    expected = {
        "connections.demo": (10, 40, 0, math.inf, 200, 1, 0),
        "group.odin": (15, 40, 0, math.inf, 100, math.inf, 4),
        "phonism.test": (40, 40, 0, math.inf, 25, math.inf, 0),
    }
    names = (
        "odin_group_max_active_calls",
        "odin_group_max_available_active_calls",
        "odin_group_bursting_max_active_calls",
        "odin_group_bursting_max_available_active_calls",
        "odin_group_user_limit",
        "odin_group_trunk_group_service_quantity",
        "odin_group_trunk_group_service_usage",
    )
    for group, values in expected.items():
        assert tuple(group_value(registry, name, group) for name in names) == values, group
        for flag in ("authorized", "assigned", "licensed"):
            assert group_value(registry, f"odin_group_trunk_group_service_{flag}", group) == 1
    info = {"target": T, "service_provider": "ent.odin", "group": "group.odin"}
    assert registry.get_sample_value("odin_group_info", {**info, "group_name": "odin Group"}) == 1
    # The seed's oversubscription: 65 allocated against a cap of 40.
    assert sum(group_value(registry, names[0], g) or 0 for g in expected) == 65


def test_odin_missing_fields_give_no_sample_never_zero() -> None:
    sparse = {
        "serviceProviderTrunkCapacity": {"maxActiveCalls": 12},
        "groups": [{"groupId": "g1", "groupTrunkCapacity": {"maxActiveCalls": 3}}],
    }
    registry = registry_of(odin.VENDOR, odin_snapshot(sparse, sp="sp.sparse"))
    sp = {"target": T, "service_provider": "sp.sparse"}
    group = {**sp, "group": "g1"}
    assert registry.get_sample_value("odin_service_provider_bursting_max_active_calls", sp) is None
    assert registry.get_sample_value("odin_group_max_active_calls", group) == 3
    for absent in (
        "odin_group_max_available_active_calls",
        "odin_group_user_limit",
        "odin_group_trunk_group_service_quantity",
        "odin_group_trunk_group_service_usage",
        "odin_group_trunk_group_service_authorized",
    ):
        assert registry.get_sample_value(absent, group) is None, absent
    names = {family.name for family in registry.collect()}
    assert "odin_group_info" not in names  # no family without samples is written


def trunk_group(state: str | None = "Available") -> TrunkGroup:
    return TrunkGroup(
        group_id="g1",
        name="tg1",
        max_active_calls=30.0,
        max_incoming_calls=None,
        max_outgoing_calls=20.0,
        bursting_max_active_calls=0.0,
        active_incoming_calls=7.0,
        active_outgoing_calls=3.0,
        state=state,
    )


def test_odin_trunk_group_values_and_directions() -> None:
    part = Part("ent.odin", ("g1", "tg1"), trunk_group_lines(T, "ent.odin", trunk_group()))
    registry = odin_seed_registry(part)
    labels = {"target": T, "service_provider": "ent.odin", "group": "g1", "trunk_group": "tg1"}
    value = registry.get_sample_value
    assert value("odin_trunk_group_max_active_calls", labels) == 30
    assert value("odin_trunk_group_max_incoming_calls", labels) is None
    assert value("odin_trunk_group_max_outgoing_calls", labels) == 20
    assert value("odin_trunk_group_bursting_max_active_calls", labels) == 0
    assert value("odin_trunk_group_active_calls", {**labels, "direction": "incoming"}) == 7
    assert value("odin_trunk_group_active_calls", {**labels, "direction": "outgoing"}) == 3
    assert value("odin_trunk_group_info", {**labels, "state": "Available"}) == 1


def test_a_trunk_group_without_state_has_no_info_sample_never_an_empty_state() -> None:
    text = trunk_group_lines(T, "ent.odin", trunk_group(state=None))
    assert "odin_trunk_group_info" not in text
    assert b'state=""' not in b"".join(text.values())


def test_an_sp_without_trunking_is_up_with_trunking_disabled_and_no_capacity() -> None:
    builder = SnapshotBuilder(T, odin.UP_FAMILIES)
    builder.expect(["sp.none"])
    builder.add_part(Part("sp.none", (), no_trunking_lines(T, "sp.none")), main=True)
    snapshot = builder.build()
    registry = registry_of(odin.VENDOR, snapshot)
    sp = {"target": T, "service_provider": "sp.none"}
    assert snapshot.up and snapshot.complete
    assert registry.get_sample_value("odin_service_provider_up", sp) == 1
    assert registry.get_sample_value("odin_service_provider_trunking_enabled", sp) == 0
    assert registry.get_sample_value("odin_service_provider_max_active_calls", sp) is None


def test_odin_legacy_report_rows_are_trunk_groups_not_groups() -> None:
    legacy = {
        "serviceProviderTrunkCapacity": {"maxActiveCalls": -1},
        "groupTrunkGroupDetails": [
            {
                "groupId": "g1",
                "name": "tg-old",
                "maxActiveCalls": 8,
                "enableBursting": True,
                "burstingMaxActiveCalls": -1,
            },
        ],
    }
    report = parse_trunk_call_capacity_report(legacy, "sp.old")
    assert report.groups == ()
    (row,) = report.legacy_trunk_groups
    assert (row.group_id, row.name) == ("g1", "tg-old")
    lines = report_lines(T, report)
    assert not any(name.startswith("odin_trunk_group") for name in lines)


def test_odin_target_failure_yields_only_up_zero() -> None:
    error = CollectionError("auth", "/auth/token", "login refused")
    registry = registry_of(odin.VENDOR, odin.VENDOR.failed_snapshot(T, error))
    assert registry.get_sample_value("odin_up", {"target": T}) == 0
    assert {family.name for family in registry.collect()} == {"odin_up"}


def test_odin_up_stays_one_when_some_service_providers_fail() -> None:
    registry = odin_seed_registry()
    assert registry.get_sample_value("odin_up", {"target": T}) == 1
    failed = {"target": T, "service_provider": "sp.legacy"}
    assert registry.get_sample_value("odin_service_provider_up", failed) == 0


def test_a_failed_trunk_group_call_downs_its_sp_but_keeps_its_report() -> None:
    builder = SnapshotBuilder(T, odin.UP_FAMILIES)
    builder.expect(["ent.odin"])
    report = parse_trunk_call_capacity_report(ODIN_SEED, "ent.odin")
    builder.add_part(Part("ent.odin", (), report_lines(T, report)), main=True)
    builder.fail(CollectionError("timeout", "/groups/trunk-groups", "no answer", "ent.odin"))
    snapshot = builder.build()
    registry = registry_of(odin.VENDOR, snapshot)
    sp = {"target": T, "service_provider": "ent.odin"}
    assert registry.get_sample_value("odin_service_provider_up", sp) == 0
    assert registry.get_sample_value("odin_service_provider_max_active_calls", sp) == 40
    assert not snapshot.complete


def didww_seed_snapshot(*errors: CollectionError, balance: bool = True) -> Snapshot:
    page = parse_page(DIDWW_SEED, INCLUDED_TYPES["capacity_pool"])
    pools = [parse_capacity_pool(r) for r in page.included]
    names = {pool.pool_id: pool.name for pool in pools}
    groups = [parse_shared_capacity_group(r) for r in page.data]
    data = AccountData(
        pools=pools,
        groups=[(g, names.get(g.pool_id, "") if g.pool_id else "") for g in groups],
        balance=AccountBalance(balance=12.5, credit=0.0, api_version=None) if balance else None,
        api_version=page.api_version,
    )
    builder = SnapshotBuilder("didww", didww.UP_FAMILIES)
    builder.add_part(Part("", (), account_lines("didww", data)))
    for error in errors:
        builder.fail(error)
    return builder.build()


def test_didww_seed_values() -> None:
    registry = registry_of(didww.VENDOR, didww_seed_snapshot())
    pool = {"target": "didww", "pool": "Extended"}
    value = registry.get_sample_value
    assert value("didww_up", {"target": "didww"}) == 1
    expected_pool = {
        "didww_capacity_pool_total_channels": 10,
        "didww_capacity_pool_assigned_channels": 6,
        "didww_capacity_pool_unassigned_channels": 4,
        "didww_capacity_pool_minimum_limit_channels": 5,
        "didww_capacity_pool_minimum_order_channels": 1,
        "didww_capacity_pool_setup_price": 0.0,
        "didww_capacity_pool_monthly_price": 25.0,
        "didww_capacity_pool_metered_rate": 0.02,
        "didww_capacity_pool_renewal_timestamp_seconds": 1532131200,
    }
    for name, expected in expected_pool.items():
        assert value(name, pool) == expected, name
    pool_id = "b8db1d7c-f415-4530-a340-c774bcc1c55f"
    assert value("didww_capacity_pool_info", {**pool, "pool_id": pool_id}) == 1
    mixed = {"target": "didww", "pool": "Extended", "capacity_group": "Mixed group"}
    assert value("didww_shared_capacity_group_shared_channels", mixed) == 3
    assert value("didww_shared_capacity_group_metered_channels", mixed) == 5
    assert value("didww_shared_capacity_group_dids", mixed) is None  # not counted here
    mixed_id = "8a581244-de83-4c46-ac0a-32659279169e"
    info = {**mixed, "capacity_group_id": mixed_id, "pool_id": pool_id}
    assert value("didww_shared_capacity_group_info", info) == 1
    # No `data` in its capacity_pool relationship: the group has no pool label value.
    metered = {"target": "didww", "pool": "", "capacity_group": "Metered group"}
    assert value("didww_shared_capacity_group_shared_channels", metered) == 0
    assert value("didww_shared_capacity_group_metered_channels", metered) == 30
    assert value("didww_account_balance", {"target": "didww"}) == 12.5
    assert value("didww_account_credit", {"target": "didww"}) == 0
    assert value("didww_api_info", {"target": "didww", "api_version": "2022-05-10"}) == 1


def test_didww_down_when_any_call_failed_but_data_kept() -> None:
    timeout = CollectionError("timeout", "/balance", "no answer")
    registry = registry_of(didww.VENDOR, didww_seed_snapshot(timeout, balance=False))
    assert registry.get_sample_value("didww_up", {"target": "didww"}) == 0
    assert registry.get_sample_value("didww_account_balance", {"target": "didww"}) is None
    pool = {"target": "didww", "pool": "Extended"}
    assert registry.get_sample_value("didww_capacity_pool_total_channels", pool) == 10


def test_odin_minus_one_count_is_no_sample_and_keeps_the_sp() -> None:
    report = json.loads(json.dumps(ODIN_SEED))
    report["groups"][0]["service"]["usage"] = -1
    registry = registry_of(odin.VENDOR, odin_snapshot(report))
    labels = {"target": T, "service_provider": "ent.odin", "group": "connections.demo"}
    assert registry.get_sample_value("odin_group_trunk_group_service_usage", labels) is None
    assert registry.get_sample_value("odin_group_max_active_calls", labels) == 10


def test_a_repeated_legacy_row_is_left_out_as_a_problem_of_the_report() -> None:
    row = {"groupId": "g1", "name": "tg", "maxActiveCalls": 5}
    report = parse_trunk_call_capacity_report(
        {"groupTrunkGroupDetails": [row, {**row, "maxActiveCalls": 7}]}, "sp.old"
    )
    assert [r.max_active_calls for r in report.legacy_trunk_groups] == [5]
    (problem,) = report.problems
    assert "repeats 'g1/tg'" in problem


@pytest.mark.parametrize("vendor", [odin.VENDOR, didww.VENDOR])
def test_every_family_name_is_unique_and_has_help(vendor: Vendor) -> None:
    names = [family.name for family in vendor.families]
    assert len(names) == len(set(names))
    assert all(family.documentation for family in vendor.families)


@pytest.mark.parametrize(
    ("vendor", "modules"),
    [
        (odin.VENDOR, ("exporter.vendors.odin.metrics",)),
        (didww.VENDOR, ("exporter.vendors.didww.metrics", "exporter.vendors.didww.trunk_metrics")),
    ],
)
def test_every_family_a_vendor_renders_is_listed_in_its_families(
    vendor: Vendor, modules: tuple[str, ...]
) -> None:
    """The scrape writes only listed families: one defined but not listed would be a bug that
    no other test of the vendor's output sees."""
    defined = {
        family.name
        for module in map(importlib.import_module, modules)
        for value in vars(module).values()
        for family in (value if isinstance(value, tuple) else (value,))
        if isinstance(family, Family)
    }

    assert defined <= {family.name for family in vendor.families}
    assert len(defined) >= 5  # the modules were read


def test_every_rendered_sample_carries_exactly_the_labels_its_family_declares(
    simulator: Simulator,
) -> None:
    """Families declare their label names; a renderer that adds, drops or misspells one (and so
    breaks every rule and panel that selects on it) fails here. The demo renders every family
    of every vendor, and its link renders the chain's."""
    exporter = Exporter(demo_config(simulator))
    try:
        families = parsed_families(exporter.scrape(Deadline(20)).chunks(openmetrics=False))
    finally:
        exporter.close()
    declared = [*(f for vendor in VENDORS for f in vendor.families), LINK_INFO, LINK_RESOLVED]

    for family in declared:
        rendered = {frozenset(sample.labels) for sample in families[family.name].samples}
        assert rendered == {frozenset(family.labels)}, family.name
