"""Metric families for DIDWW accounts, built afresh from each scrape's snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.didww.collection import DidwwSnapshot

POOL_LABELS = ["target", "pool"]
GROUP_LABELS = ["target", "pool", "capacity_group"]

_POOL_GAUGES = (
    ("total_channels", "didww_capacity_pool_total_channels", "Channels the pool owns."),
    (
        "assigned_channels",
        "didww_capacity_pool_assigned_channels",
        "Channels allocated to groups or DIDs (an allocation, not calls in progress).",
    ),
    (
        "unassigned_channels",
        "didww_capacity_pool_unassigned_channels",
        "Channels not allocated to any group or DID.",
    ),
    (
        "minimum_limit",
        "didww_capacity_pool_minimum_limit_channels",
        "Fewest channels the pool can be reduced to.",
    ),
    (
        "minimum_order",
        "didww_capacity_pool_minimum_order_channels",
        "Fewest channels per order.",
    ),
    ("setup_price", "didww_capacity_pool_setup_price", "Setup price (NRC) per channel."),
    ("monthly_price", "didww_capacity_pool_monthly_price", "Monthly price (MRC) per channel."),
    ("metered_rate", "didww_capacity_pool_metered_rate", "Per-minute rate of metered channels."),
    (
        "renewal_timestamp",
        "didww_capacity_pool_renewal_timestamp_seconds",
        "Next renewal date of the pool (UTC midnight).",
    ),
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
        families = [
            (field, GaugeMetricFamily(name, help_text, labels=POOL_LABELS))
            for field, name, help_text in _POOL_GAUGES
        ]
        info = GaugeMetricFamily(
            "didww_capacity_pool_info",
            "Id of each capacity pool; value 1.",
            labels=[*POOL_LABELS, "pool_id"],
        )
        for target, snapshot in snapshots:
            for pool in snapshot.pools:
                labels = [target, pool.name]
                for field, family in families:
                    value = getattr(pool, field)
                    if value is not None:
                        family.add_metric(labels, value)
                info.add_metric([*labels, pool.pool_id], 1.0)
        yield from (family for _, family in families)
        yield info

    def _group_families(self, snapshots: list[tuple[str, DidwwSnapshot]]) -> Iterator[Metric]:
        shared = GaugeMetricFamily(
            "didww_shared_capacity_group_shared_channels",
            "Flat-rate channels the group draws from its pool.",
            labels=GROUP_LABELS,
        )
        metered = GaugeMetricFamily(
            "didww_shared_capacity_group_metered_channels",
            "Per-minute overflow channels of the group (0: no metered overflow).",
            labels=GROUP_LABELS,
        )
        dids = GaugeMetricFamily(
            "didww_shared_capacity_group_dids", "DIDs in the group.", labels=GROUP_LABELS
        )
        info = GaugeMetricFamily(
            "didww_shared_capacity_group_info",
            "Ids of each shared capacity group and its pool; value 1.",
            labels=[*GROUP_LABELS, "capacity_group_id", "pool_id"],
        )
        for target, snapshot in snapshots:
            pool_names = {pool.pool_id: pool.name for pool in snapshot.pools}
            for group in snapshot.groups:
                pool_name = pool_names.get(group.pool_id, "") if group.pool_id else ""
                labels = [target, pool_name, group.name]
                if group.shared_channels is not None:
                    shared.add_metric(labels, group.shared_channels)
                if group.metered_channels is not None:
                    metered.add_metric(labels, group.metered_channels)
                if group.dids is not None:
                    dids.add_metric(labels, float(group.dids))
                info.add_metric([*labels, group.group_id, group.pool_id or ""], 1.0)
        yield from (shared, metered, dids, info)

    def _account_families(self, snapshots: list[tuple[str, DidwwSnapshot]]) -> Iterator[Metric]:
        balance = GaugeMetricFamily("didww_account_balance", "Account balance.", labels=["target"])
        credit = GaugeMetricFamily("didww_account_credit", "Account credit.", labels=["target"])
        api = GaugeMetricFamily(
            "didww_api_info",
            "API version the account is served (meta.api_version); value 1.",
            labels=["target", "api_version"],
        )
        for target, snapshot in snapshots:
            if snapshot.balance is not None:
                if snapshot.balance.balance is not None:
                    balance.add_metric([target], snapshot.balance.balance)
                if snapshot.balance.credit is not None:
                    credit.add_metric([target], snapshot.balance.credit)
            if snapshot.api_version is not None:
                api.add_metric([target, snapshot.api_version], 1.0)
        yield from (balance, credit, api)
