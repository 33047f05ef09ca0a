"""Parsed Odin answers, and the parsers that build them from decoded JSON.

Odin's -1 is read here, not in the shared payload helpers: in a limit it means unlimited
(+Inf), in a count "not applicable" (None). A field the answer lacks is None, which becomes no
sample (never 0). A report or list whose shape is wrong raises `InvalidPayload`; one group or
row in it that is wrong is left out and listed in `problems`, so that it fails alone.

The records are slotted dataclasses that nothing mutates after parsing. They are not declared
frozen: a frozen dataclass sets each field through object.__setattr__, and building two records
per group made that the largest single cost of parsing a 1,000-SP scrape's reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from exporter.core.payload import (
    InvalidPayload,
    as_list,
    as_object,
    optional_bool,
    optional_count,
    optional_number,
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
    problems: tuple[str, ...] = ()  # groups or rows left out, each with what was wrong


@dataclass(slots=True)
class Names:
    """The ids or names of a listing, each once; rows left out are in `problems`."""

    names: tuple[str, ...]
    problems: tuple[str, ...] = ()


def odin_count(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A count where Odin's -1 means "not applicable": no sample."""
    if optional_number(obj, key, what) == -1:
        return None
    return optional_count(obj, key, what)


def optional_limit(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A capacity limit where -1 means unlimited (+Inf)."""
    value = optional_number(obj, key, what)
    if value == -1:
        return math.inf
    if value is not None and value < 0:
        raise InvalidPayload(f"{what}.{key} is {value:g}, expected -1 (unlimited) or more")
    return value


def parse_service_providers(body: Any) -> Names:
    """`GET /service-providers`: the ids (names and flags are not used, so not checked)."""
    rows = as_list(body, "service provider list")
    names, problems = _parse_rows(rows, "service provider list", _service_provider_id, str)
    return Names(names, problems)


def _service_provider_id(row: Any, what: str) -> str:
    return required_string(as_object(row, what), "serviceProviderId", what)


def parse_trunk_call_capacity_report(
    body: Any, service_provider_id: str
) -> TrunkCallCapacityReport:
    """`GET /service-providers/trunk-groups/call-capacity/reports`."""
    report = as_object(body, "report")
    sp_capacity = optional_object(report, "serviceProviderTrunkCapacity", "report") or {}
    what = "report.serviceProviderTrunkCapacity"
    groups: tuple[GroupTrunkCapacity, ...] = ()
    legacy: tuple[TrunkGroup, ...] = ()
    if "groups" not in report and "groupTrunkGroupDetails" in report:
        rows = as_list(report["groupTrunkGroupDetails"], "report.groupTrunkGroupDetails")
        legacy, problems = _parse_rows(
            rows, "report.groupTrunkGroupDetails", _parse_legacy_trunk_group, _trunk_group_key
        )
    else:
        rows = as_list(report.get("groups"), "report.groups")
        groups, problems = _parse_rows(rows, "report.groups", _parse_group, _group_key)
    return TrunkCallCapacityReport(
        service_provider_id=service_provider_id,
        max_active_calls=optional_limit(sp_capacity, "maxActiveCalls", what),
        bursting_max_active_calls=optional_limit(sp_capacity, "burstingMaxActiveCalls", what),
        groups=groups,
        legacy_trunk_groups=legacy,
        problems=problems,
    )


Row = TypeVar("Row")


def _parse_rows(
    rows: list[Any],
    what: str,
    parse: Callable[[Any, str], Row],
    key: Callable[[Row], str],
) -> tuple[tuple[Row, ...], tuple[str, ...]]:
    """Each row parsed on its own: a bad or repeated row is left out with its problem."""
    parsed: dict[str, Row] = {}
    problems: list[str] = []
    for index, row in enumerate(rows):
        try:
            item = parse(row, f"{what}[{index}]")
        except InvalidPayload as error:
            problems.append(str(error))
            continue
        if key(item) in parsed:
            problems.append(f"{what}[{index}] repeats {key(item)[:60]!r}; the first is kept")
            continue
        parsed[key(item)] = item
    return tuple(parsed.values()), tuple(problems)


def _group_key(group: GroupTrunkCapacity) -> str:
    return group.group_id


def _trunk_group_key(trunk_group: TrunkGroup) -> str:
    return f"{trunk_group.group_id}/{trunk_group.name}"


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
        usage=odin_count(service, "usage", what),
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


def parse_trunk_group_names(body: Any) -> Names:
    """`GET /groups/trunk-groups?serviceProviderId=&groupId=`: the trunk groups' names."""
    rows = as_list(body, "trunk group list")
    names, problems = _parse_rows(rows, "trunk group list", _trunk_group_name, str)
    return Names(names, problems)


def _trunk_group_name(row: Any, what: str) -> str:
    return required_string(as_object(row, what), "name", what)


def parse_trunk_group_detail(body: Any, group_id: str, name: str) -> TrunkGroup:
    """`GET /groups/trunk-groups?serviceProviderId=&groupId=&name=`."""
    what = "trunk group"
    row = as_object(body, what)
    return TrunkGroup(
        group_id=group_id,
        name=name,
        max_active_calls=optional_limit(row, "maxActiveCalls", what),
        max_incoming_calls=optional_limit(row, "maxIncomingCalls", what),
        max_outgoing_calls=optional_limit(row, "maxOutgoingCalls", what),
        bursting_max_active_calls=_bursting_limit(row, what),
        active_incoming_calls=odin_count(row, "totalActiveIncomingCalls", what),
        active_outgoing_calls=odin_count(row, "totalActiveOutgoingCalls", what),
        state=optional_string(row, "trunkGroupState", what),
    )


def _bursting_limit(row: Mapping[str, Any], what: str) -> float | None:
    """Bursting calls allowed: 0 when bursting is disabled, whatever the stale limit says."""
    if optional_bool(row, "enableBursting", what) is False:
        return 0.0
    return optional_limit(row, "burstingMaxActiveCalls", what)
