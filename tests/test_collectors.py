"""Collectors driven through a private CollectorRegistry, on the seed documents' examples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from exporter.collection_result import CollectionError
from exporter.didww.collection import DidwwSnapshot
from exporter.didww.collector import DidwwCollector
from exporter.didww.models import (
    AccountBalance,
    parse_capacity_pool,
    parse_page,
    parse_shared_capacity_group,
)
from exporter.odin.collection import OdinSnapshot, failed_odin_snapshot
from exporter.odin.collector import OdinCollector
from exporter.odin.models import TrunkGroup, parse_trunk_call_capacity_report
from exporter.payload import InvalidPayload

FIXTURES = Path(__file__).parent / "fixtures"
ODIN_SEED = json.loads((FIXTURES / "odin_report_seed.json").read_text())
DIDWW_SEED = json.loads((FIXTURES / "didww_shared_capacity_groups_seed.json").read_text())
T = "odin-prod"


def registry_of(collector: object) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    return registry


def odin_seed_registry(**snapshot_fields: object) -> CollectorRegistry:
    report = parse_trunk_call_capacity_report(ODIN_SEED, "ent.odin")
    fields = {
        "reports": (report,),
        "failed_service_providers": {"sp.legacy": "http_error"},
        "trunk_groups": (),
        "errors": (),
    }
    fields.update(snapshot_fields)
    return registry_of(OdinCollector([(T, OdinSnapshot(**fields))]))


def group_value(registry: CollectorRegistry, name: str, group: str) -> float | None:
    labels = {"target": T, "service_provider": "ent.odin", "group": group}
    return registry.get_sample_value(name, labels)


def test_odin_seed_service_provider_values_and_unlimited_bursting() -> None:
    registry = odin_seed_registry()
    sp = {"target": T, "service_provider": "ent.odin"}
    assert registry.get_sample_value("odin_up", {"target": T}) == 1
    assert registry.get_sample_value("odin_service_provider_up", sp) == 1
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
    allocated = sum(group_value(registry, names[0], g) for g in expected)
    assert allocated == 65


def test_odin_missing_fields_give_no_sample_never_zero() -> None:
    sparse = {
        "serviceProviderTrunkCapacity": {"maxActiveCalls": 12},
        "groups": [{"groupId": "g1", "groupTrunkCapacity": {"maxActiveCalls": 3}}],
    }
    report = parse_trunk_call_capacity_report(sparse, "sp.sparse")
    registry = registry_of(OdinCollector([(T, OdinSnapshot((report,), {}, (), ()))]))
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
    assert registry.get_sample_value("odin_group_info", {**group, "group_name": ""}) is None


def test_odin_trunk_group_values_and_directions() -> None:
    trunk_group = TrunkGroup(
        group_id="g1",
        name="tg1",
        max_active_calls=30.0,
        max_incoming_calls=None,
        max_outgoing_calls=20.0,
        bursting_max_active_calls=0.0,
        active_incoming_calls=7.0,
        active_outgoing_calls=3.0,
        state="Available",
    )
    registry = odin_seed_registry(trunk_groups=(("ent.odin", trunk_group),))
    labels = {"target": T, "service_provider": "ent.odin", "group": "g1", "trunk_group": "tg1"}
    value = registry.get_sample_value
    assert value("odin_trunk_group_max_active_calls", labels) == 30
    assert value("odin_trunk_group_max_incoming_calls", labels) is None
    assert value("odin_trunk_group_max_outgoing_calls", labels) == 20
    assert value("odin_trunk_group_bursting_max_active_calls", labels) == 0
    assert value("odin_trunk_group_active_calls", {**labels, "direction": "incoming"}) == 7
    assert value("odin_trunk_group_active_calls", {**labels, "direction": "outgoing"}) == 3
    assert value("odin_trunk_group_info", {**labels, "state": "Available"}) == 1


def test_odin_legacy_report_shape_is_tolerated_as_trunk_groups() -> None:
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
    (trunk_group,) = report.legacy_trunk_groups
    assert trunk_group.max_active_calls == 8
    assert trunk_group.bursting_max_active_calls == math.inf


def test_odin_target_failure_yields_only_up_zero() -> None:
    registry = registry_of(OdinCollector([(T, failed_odin_snapshot("auth")), ("odin-b", None)]))
    assert registry.get_sample_value("odin_up", {"target": T}) == 0
    assert registry.get_sample_value("odin_up", {"target": "odin-b"}) == 0
    names = {family.name for family in registry.collect() if family.samples}
    assert names == {"odin_up"}


def test_odin_up_stays_one_when_some_service_providers_fail() -> None:
    registry = odin_seed_registry(errors=(CollectionError("http_error", "/x", "400", "sp.legacy"),))
    assert registry.get_sample_value("odin_up", {"target": T}) == 1


def didww_seed_snapshot() -> DidwwSnapshot:
    page = parse_page(DIDWW_SEED)
    return DidwwSnapshot(
        pools=tuple(parse_capacity_pool(r) for r in page.included),
        groups=tuple(parse_shared_capacity_group(r) for r in page.data),
        balance=AccountBalance(balance=12.5, credit=0.0, api_version=None),
        api_version=page.api_version,
        errors=(),
    )


def test_didww_seed_values() -> None:
    registry = registry_of(DidwwCollector([("didww", didww_seed_snapshot())]))
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
    assert value("didww_shared_capacity_group_dids", mixed) is None  # no linkage in the seed
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
    snapshot = didww_seed_snapshot()
    failed = DidwwSnapshot(
        snapshot.pools,
        snapshot.groups,
        None,
        snapshot.api_version,
        (CollectionError("timeout", "/balance", "no answer"),),
    )
    registry = registry_of(DidwwCollector([("didww", failed)]))
    assert registry.get_sample_value("didww_up", {"target": "didww"}) == 0
    assert registry.get_sample_value("didww_account_balance", {"target": "didww"}) is None
    pool = {"target": "didww", "pool": "Extended"}
    assert registry.get_sample_value("didww_capacity_pool_total_channels", pool) == 10


def test_odin_minus_one_count_is_no_sample_and_keeps_the_sp() -> None:
    report = json.loads(json.dumps(ODIN_SEED))
    report["groups"][0]["service"]["usage"] = -1
    registry = registry_of(
        OdinCollector(
            [(T, OdinSnapshot((parse_trunk_call_capacity_report(report, "s"),), {}, (), ()))]
        )
    )
    labels = {"target": T, "service_provider": "s", "group": "connections.demo"}
    assert registry.get_sample_value("odin_group_trunk_group_service_usage", labels) is None
    assert registry.get_sample_value("odin_group_max_active_calls", labels) == 10


def test_odin_legacy_rows_with_the_same_trunk_group_twice_are_refused() -> None:
    row = {"groupId": "g1", "name": "tg", "maxActiveCalls": 5}
    legacy = {"groupTrunkGroupDetails": [row, {**row, "maxActiveCalls": 7}]}
    with pytest.raises(InvalidPayload, match="more than once"):
        parse_trunk_call_capacity_report(legacy, "sp.old")
