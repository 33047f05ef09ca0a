"""Parsed DIDWW (JSON:API) answers, and the parsers that build them from decoded JSON.

Both pool spellings are read: the documented `setup_price`/`monthly_price` and the seed's
`nrc`/`mrc`, and `unassigned_channels_count` falls back to total - assigned. Relationship
linkage may be absent, null or present; absent and null both mean "no pool".
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exporter.core.memory import deep_size
from exporter.core.payload import (
    InvalidPayload,
    as_list,
    as_object,
    optional_bool,
    optional_count,
    optional_date_timestamp,
    optional_decimal,
    optional_object,
    optional_string,
    required_string,
)

_PAGE_NUMBER = re.compile(r"^[1-9][0-9]{0,6}$")


@dataclass(frozen=True, slots=True)
class Resource:
    """One JSON:API resource object."""

    type: str
    id: str
    attributes: Mapping[str, Any]
    relationships: Mapping[str, Any]
    # Resource-level `meta` (a trunk group's trunks_count, a voice-out trunk's spent_amount).
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    data: tuple[Resource, ...]
    included: tuple[Resource, ...]
    total_records: int | None
    next_page: int | None
    last_page: int | None
    api_version: str | None
    problems: tuple[str, ...] = ()  # resources left out, each with what was wrong
    records: int = 0  # resources in `data` as sent, the invalid ones too
    size: int = 0  # the memory its resources hold (`exporter.core.memory.deep_size`)


@dataclass(frozen=True, slots=True)
class CapacityPool:
    pool_id: str
    name: str
    total_channels: float | None
    assigned_channels: float | None
    unassigned_channels: float | None
    minimum_limit: float | None
    minimum_order: float | None
    setup_price: float | None
    monthly_price: float | None
    metered_rate: float | None
    renewal_timestamp: float | None


@dataclass(frozen=True, slots=True)
class SharedCapacityGroup:
    group_id: str
    name: str
    pool_id: str | None
    shared_channels: float | None
    metered_channels: float | None
    dids: int | None


@dataclass(frozen=True, slots=True)
class AccountBalance:
    balance: float | None
    credit: float | None
    api_version: str | None
    total_balance: float | None = None


def parse_page(payload: Any, included_types: frozenset[str] = frozenset()) -> Page:
    """A collection page: `data`, `included`, `meta.total_records`, `links.next`/`last`.

    Each resource is parsed on its own: one whose type or id is unusable is left out and
    named in `problems`, and so is an unusable `meta.api_version`. Of `included`, only the
    objects of `included_types` (what the request asked to include) are kept: any other is
    nobody's business, and a page may carry a great many of them.
    """
    document = as_object(payload, "document")
    problems: list[str] = []
    raw_data = as_list(document.get("data"), "data")
    data = _parse_resources(enumerate(raw_data), "data", problems)
    included_raw = document.get("included")
    included: tuple[Resource, ...] = ()
    if included_raw is not None:
        wanted = (
            (index, item)
            for index, item in enumerate(as_list(included_raw, "included"))
            if _of_type(item, included_types)
        )
        included = _parse_resources(wanted, "included", problems)
    meta = optional_object(document, "meta", "document") or {}
    links = optional_object(document, "links", "document") or {}
    total = optional_count(meta, "total_records", "meta")
    try:
        api_version = optional_string(meta, "api_version", "meta")
    except InvalidPayload as error:
        problems.append(str(error))
        api_version = None
    return Page(
        data=data,
        included=included,
        total_records=None if total is None else int(total),
        next_page=_page_number(links, "next"),
        last_page=_page_number(links, "last"),
        api_version=api_version,
        problems=tuple(problems),
        records=len(raw_data),
        size=sum(_resource_size(r) for r in (*data, *included)) + deep_size(problems),
    )


def _of_type(item: Any, types: frozenset[str]) -> bool:
    """Whether an `included` item is kept: one of `types`, or malformed (to be named)."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        return True
    return item["type"] in types


def _resource_size(resource: Resource) -> int:
    return (
        sys.getsizeof(resource)
        + deep_size(resource.id)
        + deep_size(resource.attributes)
        + deep_size(resource.relationships)
        + deep_size(resource.meta)
    )


def _parse_resources(
    items: Iterable[tuple[int, Any]], what: str, problems: list[str]
) -> tuple[Resource, ...]:
    """`items`: (index, resource) pairs, the index naming a resource left out."""
    resources = []
    for index, item in items:
        try:
            resources.append(_parse_resource(item, f"{what}[{index}]"))
        except InvalidPayload as error:
            problems.append(str(error))
    return tuple(resources)


def _parse_resource(item: Any, what: str) -> Resource:
    obj = as_object(item, what)
    return Resource(
        type=required_string(obj, "type", what),
        id=required_string(obj, "id", what),
        attributes=optional_object(obj, "attributes", what) or {},
        relationships=optional_object(obj, "relationships", what) or {},
        meta=optional_object(obj, "meta", what) or {},
    )


def _page_number(links: Mapping[str, Any], key: str) -> int | None:
    """`page[number]` of a pagination link (the exporter builds its own URLs from it)."""
    link = optional_string(links, key, "links")
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("page[number]", [])
    if len(values) != 1 or not _PAGE_NUMBER.match(values[0]):
        raise InvalidPayload(f"links.{key} has no usable page[number]: {link[:120]!r}")
    return int(values[0])


def parse_capacity_pool(resource: Resource) -> CapacityPool:
    what = f"capacity_pools {resource.id}"
    attributes = resource.attributes
    total = optional_count(attributes, "total_channels_count", what)
    assigned = optional_count(attributes, "assigned_channels_count", what)
    unassigned = optional_count(attributes, "unassigned_channels_count", what)
    if unassigned is None and total is not None and assigned is not None:
        unassigned = total - assigned
    return CapacityPool(
        pool_id=resource.id,
        name=required_string(attributes, "name", what),
        total_channels=total,
        assigned_channels=assigned,
        unassigned_channels=unassigned,
        minimum_limit=optional_count(attributes, "minimum_limit", what),
        minimum_order=optional_count(attributes, "minimum_qty_per_order", what),
        setup_price=_either_decimal(attributes, "setup_price", "nrc", what),
        monthly_price=_either_decimal(attributes, "monthly_price", "mrc", what),
        metered_rate=optional_decimal(attributes, "metered_rate", what),
        renewal_timestamp=optional_date_timestamp(attributes, "renew_date", what),
    )


def _either_decimal(
    attributes: Mapping[str, Any], documented: str, seed: str, what: str
) -> float | None:
    value = optional_decimal(attributes, documented, what)
    return value if value is not None else optional_decimal(attributes, seed, what)


def parse_shared_capacity_group(resource: Resource) -> SharedCapacityGroup:
    what = f"shared_capacity_groups {resource.id}"
    attributes = resource.attributes
    return SharedCapacityGroup(
        group_id=resource.id,
        name=required_string(attributes, "name", what),
        pool_id=_to_one_id(resource, "capacity_pool", "capacity_pools", what),
        shared_channels=optional_count(attributes, "shared_channels_count", what),
        metered_channels=_metered_channels(attributes, what),
        dids=_to_many_count(resource, "dids", what),
    )


def _metered_channels(attributes: Mapping[str, Any], what: str) -> float | None:
    """null means no metered overflow (0 channels); a missing attribute is no sample."""
    if "metered_channels_count" not in attributes:
        return None
    return optional_count(attributes, "metered_channels_count", what) or 0.0


def _relationship_data(resource: Resource, name: str, what: str) -> tuple[bool, Any]:
    """(present, data) of relationships.<name>.data: linkage exists only when included."""
    relationship = resource.relationships.get(name)
    if relationship is None:
        return False, None
    relationship = as_object(relationship, f"{what} relationships.{name}")
    return "data" in relationship, relationship.get("data")


def _to_one_id(resource: Resource, name: str, expected_type: str, what: str) -> str | None:
    _, data = _relationship_data(resource, name, what)
    if data is None:
        return None
    linkage = as_object(data, f"{what} relationships.{name}.data")
    if linkage.get("type") != expected_type:
        raise InvalidPayload(f"{what} relationships.{name} links to {linkage.get('type')!r}")
    return required_string(linkage, "id", f"{what} relationships.{name}.data")


def _to_many_count(resource: Resource, name: str, what: str) -> int | None:
    present, data = _relationship_data(resource, name, what)
    if not present:
        return None
    return len(as_list(data, f"{what} relationships.{name}.data")) if data is not None else 0


def parse_balance(payload: Any) -> AccountBalance:
    document = as_object(payload, "document")
    data = as_object(document.get("data"), "data")
    attributes = optional_object(data, "attributes", "data") or {}
    meta = optional_object(document, "meta", "document") or {}
    if attributes.get("balance") is None:
        # Without it there is no balance sample, and no balance alert could ever fire.
        raise InvalidPayload("balance.balance is missing, expected a decimal string")
    return AccountBalance(
        balance=optional_decimal(attributes, "balance", "balance"),
        credit=optional_decimal(attributes, "credit", "balance"),
        api_version=optional_string(meta, "api_version", "meta"),
        total_balance=optional_decimal(attributes, "total_balance", "balance"),
    )


# --- trunks (API version 2021-12-15 and later) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceInTrunk:
    """capacity_limit is +Inf for null (no limit) and None when the attribute is missing."""

    trunk_id: str
    name: str
    capacity_limit: float | None
    group_id: str | None


@dataclass(frozen=True, slots=True)
class VoiceInTrunkGroup:
    group_id: str
    name: str
    capacity_limit: float | None
    trunks: float | None  # resource-level meta.trunks_count


@dataclass(frozen=True, slots=True)
class VoiceOutTrunk:
    trunk_id: str
    name: str
    capacity_limit: float | None
    threshold_amount: float | None
    threshold_reached: bool | None
    spent_amount: float | None  # resource-level meta: spent in the current billing period


@dataclass(frozen=True, slots=True)
class DidwwTrunks:
    """The trunks of one account.

    outbound_enabled is False when /voice_out_trunks answered 403 (no outbound plan: a
    standing fact, not an error) and None when that is unknown because the call failed.
    """

    voice_in_trunks: tuple[VoiceInTrunk, ...] = ()
    voice_in_trunk_groups: tuple[VoiceInTrunkGroup, ...] = ()
    voice_out_trunks: tuple[VoiceOutTrunk, ...] = ()
    outbound_enabled: bool | None = None


def parse_voice_in_trunk(resource: Resource) -> VoiceInTrunk:
    what = f"voice_in_trunks {resource.id}"
    return VoiceInTrunk(
        trunk_id=resource.id,
        name=required_string(resource.attributes, "name", what),
        capacity_limit=_capacity_limit(resource.attributes, what),
        group_id=_to_one_id(resource, "voice_in_trunk_group", "voice_in_trunk_groups", what),
    )


def parse_voice_in_trunk_group(resource: Resource) -> VoiceInTrunkGroup:
    what = f"voice_in_trunk_groups {resource.id}"
    return VoiceInTrunkGroup(
        group_id=resource.id,
        name=required_string(resource.attributes, "name", what),
        capacity_limit=_capacity_limit(resource.attributes, what),
        trunks=optional_count(resource.meta, "trunks_count", f"{what} meta"),
    )


def parse_voice_out_trunk(resource: Resource) -> VoiceOutTrunk:
    what = f"voice_out_trunks {resource.id}"
    attributes = resource.attributes
    return VoiceOutTrunk(
        trunk_id=resource.id,
        name=required_string(attributes, "name", what),
        capacity_limit=_capacity_limit(attributes, what),
        # The schema says a decimal string; an SDK fixture has null (no threshold set).
        threshold_amount=optional_decimal(attributes, "threshold_amount", what),
        threshold_reached=optional_bool(attributes, "threshold_reached", what),
        spent_amount=optional_decimal(resource.meta, "spent_amount", f"{what} meta"),
    )


def _capacity_limit(attributes: Mapping[str, Any], what: str) -> float | None:
    """null is no limit (+Inf); a missing attribute is no sample."""
    if "capacity_limit" not in attributes:
        return None
    if attributes["capacity_limit"] is None:
        return math.inf
    return optional_count(attributes, "capacity_limit", what)
