"""DIDWW metric families, and the sample lines of one account's data (trunks: trunk_metrics).

An account has a handful of pools and groups, so its data is rendered once the collection
has all of it (a group's `pool` label needs the pools), still in the collection's thread,
never in the scrape. Example output::

    didww_up{target="didww"} 1.0
    didww_capacity_pool_total_channels{pool="Extended",target="didww"} 10.0
    didww_capacity_pool_unassigned_channels{pool="Extended",target="didww"} 4.0
    didww_capacity_pool_monthly_price{pool="Extended",target="didww"} 25.0
    didww_capacity_pool_info{pool="Extended",pool_id="b8db1d7c-...",target="didww"} 1.0
    didww_shared_capacity_group_shared_channels{capacity_group="Mixed group",...} 3.0
    didww_shared_capacity_group_metered_channels{capacity_group="Metered group",pool=""} 30.0
    didww_account_balance{target="didww"} 123.45
    didww_api_info{api_version="2022-05-10",target="didww"} 1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from exporter.core.exposition import Family, Gauge, PartWriter, float_field
from exporter.core.snapshot import UpFamilies
from exporter.vendors.didww.models import (
    AccountBalance,
    CapacityPool,
    DidwwTrunks,
    SharedCapacityGroup,
)
from exporter.vendors.didww.trunk_metrics import TRUNK_FAMILIES, write_trunks

TARGET_LABELS = ("target",)
POOL_LABELS = (*TARGET_LABELS, "pool")
GROUP_LABELS = (*TARGET_LABELS, "pool", "capacity_group")
UP = Family("didww_up", "1 when every DIDWW call of this collection succeeded.", TARGET_LABELS)
POOL_GAUGES = (
    Gauge(
        "didww_capacity_pool_total_channels",
        "Channels the pool owns.",
        POOL_LABELS,
        attrgetter("total_channels"),
    ),
    Gauge(
        "didww_capacity_pool_assigned_channels",
        "Channels allocated to groups or DIDs (an allocation, not calls in progress).",
        POOL_LABELS,
        attrgetter("assigned_channels"),
    ),
    Gauge(
        "didww_capacity_pool_unassigned_channels",
        "Channels not allocated to any group or DID.",
        POOL_LABELS,
        attrgetter("unassigned_channels"),
    ),
    Gauge(
        "didww_capacity_pool_minimum_limit_channels",
        "Fewest channels the pool can be reduced to.",
        POOL_LABELS,
        attrgetter("minimum_limit"),
    ),
    Gauge(
        "didww_capacity_pool_minimum_order_channels",
        "Fewest channels per order.",
        POOL_LABELS,
        attrgetter("minimum_order"),
    ),
    Gauge(
        "didww_capacity_pool_setup_price",
        "Setup price (NRC) per channel.",
        POOL_LABELS,
        attrgetter("setup_price"),
    ),
    Gauge(
        "didww_capacity_pool_monthly_price",
        "Monthly price (MRC) per channel.",
        POOL_LABELS,
        attrgetter("monthly_price"),
    ),
    Gauge(
        "didww_capacity_pool_metered_rate",
        "Per-minute rate of metered channels.",
        POOL_LABELS,
        attrgetter("metered_rate"),
    ),
    Gauge(
        "didww_capacity_pool_renewal_timestamp_seconds",
        "Next renewal date of the pool (UTC midnight).",
        POOL_LABELS,
        attrgetter("renewal_timestamp"),
    ),
)
GROUP_GAUGES = (
    Gauge(
        "didww_shared_capacity_group_shared_channels",
        "Flat-rate channels the group draws from its pool.",
        GROUP_LABELS,
        attrgetter("shared_channels"),
    ),
    Gauge(
        "didww_shared_capacity_group_metered_channels",
        "Per-minute overflow channels of the group (0: no metered overflow).",
        GROUP_LABELS,
        attrgetter("metered_channels"),
    ),
    Gauge(
        "didww_shared_capacity_group_dids",
        "DIDs in the group.",
        GROUP_LABELS,
        float_field("dids"),
    ),
)
ACCOUNT_GAUGES = (
    Gauge("didww_account_balance", "Account balance.", TARGET_LABELS, attrgetter("balance")),
    Gauge("didww_account_credit", "Account credit.", TARGET_LABELS, attrgetter("credit")),
    Gauge(
        "didww_account_total_balance",
        "Account total balance (/balance total_balance).",
        TARGET_LABELS,
        attrgetter("total_balance"),
    ),
)
POOL_INFO = Family(
    "didww_capacity_pool_info", "Id of each capacity pool; value 1.", (*POOL_LABELS, "pool_id")
)
GROUP_INFO = Family(
    "didww_shared_capacity_group_info",
    "Ids of each shared capacity group and its pool; value 1.",
    (*GROUP_LABELS, "capacity_group_id", "pool_id"),
)
API_INFO = Family(
    "didww_api_info",
    "API version the account is served (meta.api_version); value 1.",
    (*TARGET_LABELS, "api_version"),
)

UP_FAMILIES = UpFamilies(UP)
FAMILIES: tuple[Family, ...] = (
    UP,
    *POOL_GAUGES,
    POOL_INFO,
    *GROUP_GAUGES,
    GROUP_INFO,
    *ACCOUNT_GAUGES,
    API_INFO,
    *TRUNK_FAMILIES,
)


@dataclass(frozen=True)
class AccountData:
    """What one collection of an account found, parsed."""

    pools: Sequence[CapacityPool]
    groups: Sequence[tuple[SharedCapacityGroup, str]]  # each group with its pool's name
    balance: AccountBalance | None
    api_version: str | None
    trunks: DidwwTrunks = field(default_factory=DidwwTrunks)


def account_lines(target: str, data: AccountData) -> dict[str, bytes]:
    writer = PartWriter({"target": target})
    for pool in data.pools:
        labels = writer.labels({"pool": pool.name})
        writer.add_object(POOL_GAUGES, labels, pool)
        writer.add(POOL_INFO, {"pool": pool.name, "pool_id": pool.pool_id}, 1.0)
    for group, pool_name in data.groups:
        identity = {"pool": pool_name, "capacity_group": group.name}
        writer.add_object(GROUP_GAUGES, writer.labels(identity), group)
        ids = {"capacity_group_id": group.group_id, "pool_id": group.pool_id or ""}
        writer.add(GROUP_INFO, {**identity, **ids}, 1.0)
    if data.balance is not None:
        writer.add_object(ACCOUNT_GAUGES, writer.labels({}), data.balance)
    if data.api_version is not None:
        writer.add(API_INFO, {"api_version": data.api_version}, 1.0)
    write_trunks(writer, data.trunks)
    return writer.rendered()
