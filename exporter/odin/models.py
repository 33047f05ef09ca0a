"""Parsed Odin answers, and the parsers that build them from decoded JSON.

Limits use +Inf for Odin's -1 ("unlimited"); a field the answer lacks is None, which the
collector turns into no sample (never 0). Shape problems raise `InvalidPayload`.

The records are slotted dataclasses that nothing mutates after parsing. They are not declared
frozen: a frozen dataclass sets each field through object.__setattr__, and building two records
per group made that the largest single cost of parsing a 1,000-SP scrape's reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.payload import (
    InvalidPayload,
    as_list,
    as_object,
    optional_bool,
    optional_count,
    optional_limit,
    optional_object,
    optional_string,
    required_string,
)


@dataclass(slots=True)
class TrunkGroupLicence:
    """The group's "Trunk Group" row of the BroadWorks service authorisation table."""

    quantity: float | None
    usage: float | None
    authorized: bool | None
    assigned: bool | None
    licensed: bool | None


@dataclass(slots=True)
class GroupTrunkCapacity:
    group_id: str
    group_name: str | None
    user_limit: float | None
    max_active_calls: float | None
    max_available_active_calls: float | None
    bursting_max_active_calls: float | None
    bursting_max_available_active_calls: float | None
    licence: TrunkGroupLicence | None


@dataclass(slots=True)
class TrunkGroup:
    """One trunk group's capacity and, from the detail call, its live call counts."""

    group_id: str
    name: str
    max_active_calls: float | None
    max_incoming_calls: float | None
    max_outgoing_calls: float | None
    bursting_max_active_calls: float | None
    active_incoming_calls: float | None = None
    active_outgoing_calls: float | None = None
    state: str | None = None


@dataclass(slots=True)
class TrunkCallCapacityReport:
    service_provider_id: str
    max_active_calls: float | None
    bursting_max_active_calls: float | None
    groups: tuple[GroupTrunkCapacity, ...]
    # Odin releases of 2019-2020 answered with one row per trunk group instead of `groups`.
    legacy_trunk_groups: tuple[TrunkGroup, ...] = ()


def parse_service_providers(payload: Any) -> list[str]:
    """`GET /service-providers`: the ids (names and flags are not used, so not checked)."""
    rows = as_list(payload, "service provider list")
    return [
        required_string(
            as_object(row, f"service provider list[{i}]"),
            "serviceProviderId",
            f"service provider list[{i}]",
        )
        for i, row in enumerate(rows)
    ]


def parse_trunk_call_capacity_report(
    payload: Any, service_provider_id: str
) -> TrunkCallCapacityReport:
    """`GET /service-providers/trunk-groups/call-capacity/reports`."""
    report = as_object(payload, "report")
    sp_capacity = optional_object(report, "serviceProviderTrunkCapacity", "report") or {}
    what = "report.serviceProviderTrunkCapacity"
    if "groups" not in report and "groupTrunkGroupDetails" in report:
        rows = as_list(report["groupTrunkGroupDetails"], "report.groupTrunkGroupDetails")
        legacy = tuple(
            _parse_legacy_trunk_group(row, f"report.groupTrunkGroupDetails[{i}]")
            for i, row in enumerate(rows)
        )
        _reject_duplicates(
            [f"{row.group_id}/{row.name}" for row in legacy],
            "report.groupTrunkGroupDetails",
            "groupId/name",
        )
        groups: tuple[GroupTrunkCapacity, ...] = ()
    else:
        rows = as_list(report.get("groups"), "report.groups")
        groups = tuple(_parse_group(row, f"report.groups[{i}]") for i, row in enumerate(rows))
        legacy = ()
    _reject_duplicates([g.group_id for g in groups], "report.groups", "groupId")
    return TrunkCallCapacityReport(
        service_provider_id=service_provider_id,
        max_active_calls=optional_limit(sp_capacity, "maxActiveCalls", what),
        bursting_max_active_calls=optional_limit(sp_capacity, "burstingMaxActiveCalls", what),
        groups=groups,
        legacy_trunk_groups=legacy,
    )


def _parse_group(item: Any, what: str) -> GroupTrunkCapacity:
    row = as_object(item, what)
    capacity = optional_object(row, "groupTrunkCapacity", what) or {}
    capacity_what = f"{what}.groupTrunkCapacity"
    service = optional_object(row, "service", what)
    return GroupTrunkCapacity(
        group_id=required_string(row, "groupId", what),
        group_name=optional_string(row, "groupName", what),
        user_limit=optional_limit(row, "userLimit", what),
        max_active_calls=optional_limit(capacity, "maxActiveCalls", capacity_what),
        max_available_active_calls=optional_limit(
            capacity, "maxAvailableActiveCalls", capacity_what
        ),
        bursting_max_active_calls=optional_limit(capacity, "burstingMaxActiveCalls", capacity_what),
        bursting_max_available_active_calls=optional_limit(
            capacity, "burstingMaxAvailableActiveCalls", capacity_what
        ),
        licence=None if service is None else _parse_licence(service, f"{what}.service"),
    )


def _parse_licence(service: Mapping[str, Any], what: str) -> TrunkGroupLicence:
    quantity = optional_limit(service, "quantity", what)
    limited = optional_string(service, "limited", what)
    if limited == "Unlimited":
        quantity = math.inf
    return TrunkGroupLicence(
        quantity=quantity,
        usage=optional_count(service, "usage", what),
        authorized=optional_bool(service, "authorized", what),
        assigned=optional_bool(service, "assigned", what),
        licensed=optional_bool(service, "licensed", what),
    )


def _parse_legacy_trunk_group(item: Any, what: str) -> TrunkGroup:
    row = as_object(item, what)
    return TrunkGroup(
        group_id=required_string(row, "groupId", what),
        name=required_string(row, "name", what),
        max_active_calls=optional_limit(row, "maxActiveCalls", what),
        max_incoming_calls=optional_limit(row, "maxIncomingCalls", what),
        max_outgoing_calls=optional_limit(row, "maxOutgoingCalls", what),
        bursting_max_active_calls=_bursting_limit(row, what),
    )


def parse_trunk_group_names(payload: Any) -> list[str]:
    """`GET /groups/trunk-groups?serviceProviderId=&groupId=`: the trunk groups' names."""
    rows = as_list(payload, "trunk group list")
    names = [
        required_string(as_object(row, f"trunk group list[{i}]"), "name", f"trunk group list[{i}]")
        for i, row in enumerate(rows)
    ]
    _reject_duplicates(names, "trunk group list", "name")
    return names


def parse_trunk_group_detail(payload: Any, group_id: str, name: str) -> TrunkGroup:
    """`GET /groups/trunk-groups?serviceProviderId=&groupId=&name=`."""
    what = "trunk group"
    row = as_object(payload, what)
    return TrunkGroup(
        group_id=group_id,
        name=name,
        max_active_calls=optional_limit(row, "maxActiveCalls", what),
        max_incoming_calls=optional_limit(row, "maxIncomingCalls", what),
        max_outgoing_calls=optional_limit(row, "maxOutgoingCalls", what),
        bursting_max_active_calls=_bursting_limit(row, what),
        active_incoming_calls=optional_count(row, "totalActiveIncomingCalls", what),
        active_outgoing_calls=optional_count(row, "totalActiveOutgoingCalls", what),
        state=optional_string(row, "trunkGroupState", what),
    )


def _bursting_limit(row: Mapping[str, Any], what: str) -> float | None:
    """Bursting calls allowed: 0 when bursting is disabled, whatever the stale limit says."""
    if optional_bool(row, "enableBursting", what) is False:
        return 0.0
    return optional_limit(row, "burstingMaxActiveCalls", what)


def _reject_duplicates(values: list[str], what: str, key: str) -> None:
    if len(set(values)) != len(values):
        duplicate = next(v for v in values if values.count(v) > 1)
        raise InvalidPayload(f"{what} has {key} {duplicate[:60]!r} more than once")
