"""Metric families for DIDWW accounts, built afresh from each scrape's snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import attrgetter

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.didww.collection import DidwwSnapshot
from exporter.families import Gauge, Rows, info_family

POOL_GAUGES = (
    Gauge(
        "didww_capacity_pool_total_channels",
        "Channels the pool owns.",
        attrgetter("total_channels"),
    ),
    Gauge(
        "didww_capacity_pool_assigned_channels",
        "Channels allocated to groups or DIDs (an allocation, not calls in progress).",
        attrgetter("assigned_channels"),
    ),
    Gauge(
        "didww_capacity_pool_unassigned_channels",
        "Channels not allocated to any group or DID.",
        attrgetter("unassigned_channels"),
    ),
    Gauge(
        "didww_capacity_pool_minimum_limit_channels",
        "Fewest channels the pool can be reduced to.",
        attrgetter("minimum_limit"),
    ),
    Gauge(
        "didww_capacity_pool_minimum_order_channels",
        "Fewest channels per order.",
        attrgetter("minimum_order"),
    ),
    Gauge(
        "didww_capacity_pool_setup_price",
        "Setup price (NRC) per channel.",
        attrgetter("setup_price"),
    ),
    Gauge(
        "didww_capacity_pool_monthly_price",
        "Monthly price (MRC) per channel.",
        attrgetter("monthly_price"),
    ),
    Gauge(
        "didww_capacity_pool_metered_rate",
        "Per-minute rate of metered channels.",
        attrgetter("metered_rate"),
    ),
    Gauge(
        "didww_capacity_pool_renewal_timestamp_seconds",
        "Next renewal date of the pool (UTC midnight).",
        attrgetter("renewal_timestamp"),
    ),
)
GROUP_GAUGES = (
    Gauge(
        "didww_shared_capacity_group_shared_channels",
        "Flat-rate channels the group draws from its pool.",
        attrgetter("shared_channels"),
    ),
    Gauge(
        "didww_shared_capacity_group_metered_channels",
        "Per-minute overflow channels of the group (0: no metered overflow).",
        attrgetter("metered_channels"),
    ),
    Gauge(
        "didww_shared_capacity_group_dids",
        "DIDs in the group.",
        lambda group: None if group.dids is None else float(group.dids),
    ),
)
ACCOUNT_GAUGES = (
    Gauge("didww_account_balance", "Account balance.", attrgetter("balance")),
    Gauge("didww_account_credit", "Account credit.", attrgetter("credit")),
)


class DidwwCollector:
    """DIDWW capacity pools, shared capacity groups and balance of every account in one scrape.

    Example output::

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

    def __init__(self, snapshots: Sequence[tuple[str, DidwwSnapshot | None]]) -> None:
        self._snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "didww_up", "1 when every DIDWW call of this collection succeeded.", labels=["target"]
        )
        for target, snapshot in self._snapshots:
            up.add_metric([target], 1.0 if snapshot is not None and snapshot.up else 0.0)
        yield up
        present = [(t, s) for t, s in self._snapshots if s is not None]
        yield from self._pool_families(present)
        yield from self._group_families(present)
        yield from self._account_families(present)

    def _pool_families(self, snapshots: list[tuple[str, DidwwSnapshot]]) -> Iterator[Metric]:
        rows = Rows()
        for target, snapshot in snapshots:
            for pool in snapshot.pools:
                rows.add({"target": target, "pool": pool.name}, pool)
        for gauge in POOL_GAUGES:
            yield gauge.family(rows)
        yield info_family(
            "didww_capacity_pool_info",
            "Id of each capacity pool; value 1.",
            ({**labels, "pool_id": pool.pool_id} for labels, pool in rows),
        )

    def _group_families(self, snapshots: list[tuple[str, DidwwSnapshot]]) -> Iterator[Metric]:
        rows = Rows()
        for target, snapshot in snapshots:
            pool_names = {pool.pool_id: pool.name for pool in snapshot.pools}
            for group in snapshot.groups:
                pool_name = pool_names.get(group.pool_id, "") if group.pool_id else ""
                rows.add({"target": target, "pool": pool_name, "capacity_group": group.name}, group)
        for gauge in GROUP_GAUGES:
            yield gauge.family(rows)
        yield info_family(
            "didww_shared_capacity_group_info",
            "Ids of each shared capacity group and its pool; value 1.",
            (
                {**labels, "capacity_group_id": group.group_id, "pool_id": group.pool_id or ""}
                for labels, group in rows
            ),
        )

    def _account_families(self, snapshots: list[tuple[str, DidwwSnapshot]]) -> Iterator[Metric]:
        rows = Rows()
        for target, snapshot in snapshots:
            if snapshot.balance is not None:
                rows.add({"target": target}, snapshot.balance)
        for gauge in ACCOUNT_GAUGES:
            yield gauge.family(rows)
        yield info_family(
            "didww_api_info",
            "API version the account is served (meta.api_version); value 1.",
            (
                {"target": target, "api_version": snapshot.api_version}
                for target, snapshot in snapshots
                if snapshot.api_version is not None
            ),
        )
