"""Metric families for Odin targets, built afresh from each scrape's snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.odin.collection import OdinSnapshot

SP_LABELS = ["target", "service_provider"]
GROUP_LABELS = [*SP_LABELS, "group"]
TRUNK_GROUP_LABELS = [*GROUP_LABELS, "trunk_group"]


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class OdinCollector:
    """Odin trunk call capacity of every Odin target in one scrape.

    Example output for the seed document's enterprise (abridged)::

        odin_up{target="odin-prod"} 1.0
        odin_service_provider_up{service_provider="ent.odin",target="odin-prod"} 1.0
        odin_service_provider_max_active_calls{service_provider="ent.odin",target="odin-prod"} 40.0
        odin_service_provider_bursting_max_active_calls{...,target="odin-prod"} +Inf
        odin_group_max_active_calls{group="connections.demo",service_provider="ent.odin",...} 10.0
        odin_group_trunk_group_service_quantity{group="group.odin",...} +Inf
        odin_group_info{group="group.odin",group_name="odin Group",...} 1.0
        odin_trunk_group_active_calls{direction="incoming",group="...",trunk_group="tg1",...} 7.0
    """

    def __init__(self, snapshots: Sequence[tuple[str, OdinSnapshot | None]]) -> None:
        self._snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        yield from self._target_families()
        yield from self._service_provider_families()
        yield from self._group_families()
        yield from self._trunk_group_families()

    def _target_families(self) -> Iterator[Metric]:
        up = _gauge(
            "odin_up",
            "1 when the Odin target was reachable, logged in, and an SP report succeeded.",
            ["target"],
        )
        sp_up = _gauge(
            "odin_service_provider_up",
            "1 when this service provider's trunk call capacity report was fetched and parsed.",
            SP_LABELS,
        )
        for target, snapshot in self._snapshots:
            up.add_metric([target], 1.0 if snapshot is not None and snapshot.up else 0.0)
            if snapshot is None:
                continue
            for report in snapshot.reports:
                sp_up.add_metric([target, report.service_provider_id], 1.0)
            for service_provider in snapshot.failed_service_providers:
                sp_up.add_metric([target, service_provider], 0.0)
        yield up
        yield sp_up

    def _service_provider_families(self) -> Iterator[Metric]:
        max_active = _gauge(
            "odin_service_provider_max_active_calls",
            "Service provider or enterprise cap on concurrent trunk calls (+Inf: unlimited).",
            SP_LABELS,
        )
        bursting = _gauge(
            "odin_service_provider_bursting_max_active_calls",
            "Service provider or enterprise bursting cap on trunk calls (+Inf: unlimited).",
            SP_LABELS,
        )
        for target, snapshot in self._snapshots:
            for report in snapshot.reports if snapshot else ():
                labels = [target, report.service_provider_id]
                if report.max_active_calls is not None:
                    max_active.add_metric(labels, report.max_active_calls)
                if report.bursting_max_active_calls is not None:
                    bursting.add_metric(labels, report.bursting_max_active_calls)
        yield max_active
        yield bursting

    def _group_families(self) -> Iterator[Metric]:
        families = {
            "max_active_calls": _gauge(
                "odin_group_max_active_calls",
                "Concurrent trunk calls allocated to the group.",
                GROUP_LABELS,
            ),
            "max_available_active_calls": _gauge(
                "odin_group_max_available_active_calls",
                "Most concurrent trunk calls the group may be given (+Inf: unlimited).",
                GROUP_LABELS,
            ),
            "bursting_max_active_calls": _gauge(
                "odin_group_bursting_max_active_calls",
                "Bursting trunk calls allocated to the group.",
                GROUP_LABELS,
            ),
            "bursting_max_available_active_calls": _gauge(
                "odin_group_bursting_max_available_active_calls",
                "Most bursting trunk calls the group may be given (+Inf: unlimited).",
                GROUP_LABELS,
            ),
            "user_limit": _gauge("odin_group_user_limit", "The group's user limit.", GROUP_LABELS),
        }
        licence_families = {
            "quantity": _gauge(
                "odin_group_trunk_group_service_quantity",
                "Trunk Group service instances authorised to the group (+Inf: unlimited).",
                GROUP_LABELS,
            ),
            "usage": _gauge(
                "odin_group_trunk_group_service_usage",
                "Trunk Group service instances in use in the group.",
                GROUP_LABELS,
            ),
            "authorized": _gauge(
                "odin_group_trunk_group_service_authorized",
                "1 when the Trunk Group service is authorised to the group.",
                GROUP_LABELS,
            ),
            "assigned": _gauge(
                "odin_group_trunk_group_service_assigned",
                "1 when the Trunk Group service is assigned in the group.",
                GROUP_LABELS,
            ),
            "licensed": _gauge(
                "odin_group_trunk_group_service_licensed",
                "1 when the Trunk Group service is licensed in the group.",
                GROUP_LABELS,
            ),
        }
        info = _gauge(
            "odin_group_info",
            "Group name of each group id; value 1.",
            [*GROUP_LABELS, "group_name"],
        )
        for target, snapshot in self._snapshots:
            for report in snapshot.reports if snapshot else ():
                for group in report.groups:
                    labels = [target, report.service_provider_id, group.group_id]
                    for field, family in families.items():
                        value = getattr(group, field)
                        if value is not None:
                            family.add_metric(labels, value)
                    if group.licence is not None:
                        for field, family in licence_families.items():
                            value = getattr(group.licence, field)
                            if value is not None:
                                family.add_metric(labels, float(value))
                    if group.group_name is not None:
                        info.add_metric([*labels, group.group_name], 1.0)
        yield from families.values()
        yield from licence_families.values()
        yield info

    def _trunk_group_families(self) -> Iterator[Metric]:
        families = {
            "max_active_calls": _gauge(
                "odin_trunk_group_max_active_calls",
                "Concurrent calls the trunk group allows (+Inf: unlimited).",
                TRUNK_GROUP_LABELS,
            ),
            "max_incoming_calls": _gauge(
                "odin_trunk_group_max_incoming_calls",
                "Concurrent incoming calls the trunk group allows.",
                TRUNK_GROUP_LABELS,
            ),
            "max_outgoing_calls": _gauge(
                "odin_trunk_group_max_outgoing_calls",
                "Concurrent outgoing calls the trunk group allows.",
                TRUNK_GROUP_LABELS,
            ),
            "bursting_max_active_calls": _gauge(
                "odin_trunk_group_bursting_max_active_calls",
                "Bursting calls the trunk group allows (0 when bursting is disabled).",
                TRUNK_GROUP_LABELS,
            ),
        }
        active = _gauge(
            "odin_trunk_group_active_calls",
            "Calls active on the trunk group now, by direction.",
            [*TRUNK_GROUP_LABELS, "direction"],
        )
        info = _gauge(
            "odin_trunk_group_info",
            "State of each trunk group; value 1.",
            [*TRUNK_GROUP_LABELS, "state"],
        )
        for target, snapshot in self._snapshots:
            for service_provider, trunk_group in snapshot.trunk_groups if snapshot else ():
                labels = [target, service_provider, trunk_group.group_id, trunk_group.name]
                for field, family in families.items():
                    value = getattr(trunk_group, field)
                    if value is not None:
                        family.add_metric(labels, value)
                for direction, value in (
                    ("incoming", trunk_group.active_incoming_calls),
                    ("outgoing", trunk_group.active_outgoing_calls),
                ):
                    if value is not None:
                        active.add_metric([*labels, direction], value)
                info.add_metric([*labels, trunk_group.state or ""], 1.0)
        yield from families.values()
        yield active
        yield info
