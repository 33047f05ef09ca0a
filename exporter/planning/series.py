"""The series `plan` reads: per level (trunk group, service provider, DIDWW pool) the stem of
the hourly series the mixin's planning rules record and the effective limit the alerts use.
Renaming a recording rule in deploy/mixin/rules.libsonnet means renaming it here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One kind of object planned: the labels that name it and the series it is read from."""

    name: str
    labels: tuple[str, ...]
    traffic: str  # the recorded series stem: <stem>:hourly_avg and <stem>:hourly_max
    limit: str  # the effective limit today


LEVELS = (
    Level(
        "trunk_group",
        ("target", "service_provider", "group", "trunk_group"),
        "target_service_provider_group_trunk_group:odin_trunk_group_active_calls",
        "target_service_provider_group_trunk_group:odin_trunk_group_effective_max_active_calls:sum",
    ),
    Level(
        "service_provider",
        ("target", "service_provider"),
        "target_service_provider:odin_trunk_group_active_calls",
        "target_service_provider:odin_service_provider_effective_max_active_calls:sum",
    ),
    # A pool's limit is the channels it owns; metered overflow is paid by the minute on top.
    Level(
        "pool",
        ("target", "pool"),
        "target_pool:trunk_capacity_link_incoming_calls",
        "didww_capacity_pool_total_channels",
    ),
)
