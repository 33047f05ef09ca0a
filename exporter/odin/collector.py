"""Metric families for Odin targets, built afresh from each scrape's snapshots.

A large Odin has tens of thousands of groups and eleven group families, half a million samples
in all. Each family is built and yielded on its own, so that the renderer holds one family at
a time rather than every sample of the scrape (the peak memory of a 1,000 x 50 scrape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.families import Gauge, Rows, gauge_family, info_family
from exporter.odin.collection import OdinSnapshot
from exporter.odin.models import TrunkCallCapacityReport

SP_LABELS = ["target", "service_provider"]


def _as_float(field: str) -> Callable[[Any], float | None]:
    """A licence field as a float: its flags are booleans, exported as 1 and 0."""
    get = attrgetter(field)

    def value(item: Any) -> float | None:
        raw = get(item)
        return None if raw is None else float(raw)

    return value


SERVICE_PROVIDER_GAUGES = (
    Gauge(
        "odin_service_provider_max_active_calls",
        "Service provider or enterprise cap on concurrent trunk calls (+Inf: unlimited).",
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_service_provider_bursting_max_active_calls",
        "Service provider or enterprise bursting cap on trunk calls (+Inf: unlimited).",
        attrgetter("bursting_max_active_calls"),
    ),
)
GROUP_GAUGES = (
    Gauge(
        "odin_group_max_active_calls",
        "Concurrent trunk calls allocated to the group.",
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_group_max_available_active_calls",
        "Most concurrent trunk calls the group may be given (+Inf: unlimited).",
        attrgetter("max_available_active_calls"),
    ),
    Gauge(
        "odin_group_bursting_max_active_calls",
        "Bursting trunk calls allocated to the group.",
        attrgetter("bursting_max_active_calls"),
    ),
    Gauge(
        "odin_group_bursting_max_available_active_calls",
        "Most bursting trunk calls the group may be given (+Inf: unlimited).",
        attrgetter("bursting_max_available_active_calls"),
    ),
    Gauge("odin_group_user_limit", "The group's user limit.", attrgetter("user_limit")),
)
LICENCE_GAUGES = (
    Gauge(
        "odin_group_trunk_group_service_quantity",
        "Trunk Group service instances authorised to the group (+Inf: unlimited).",
        _as_float("quantity"),
    ),
    Gauge(
        "odin_group_trunk_group_service_usage",
        "Trunk Group service instances in use in the group.",
        _as_float("usage"),
    ),
    Gauge(
        "odin_group_trunk_group_service_authorized",
        "1 when the Trunk Group service is authorised to the group.",
        _as_float("authorized"),
    ),
    Gauge(
        "odin_group_trunk_group_service_assigned",
        "1 when the Trunk Group service is assigned in the group.",
        _as_float("assigned"),
    ),
    Gauge(
        "odin_group_trunk_group_service_licensed",
        "1 when the Trunk Group service is licensed in the group.",
        _as_float("licensed"),
    ),
)
TRUNK_GROUP_GAUGES = (
    Gauge(
        "odin_trunk_group_max_active_calls",
        "Concurrent calls the trunk group allows (+Inf: unlimited).",
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_trunk_group_max_incoming_calls",
        "Concurrent incoming calls the trunk group allows.",
        attrgetter("max_incoming_calls"),
    ),
    Gauge(
        "odin_trunk_group_max_outgoing_calls",
        "Concurrent outgoing calls the trunk group allows.",
        attrgetter("max_outgoing_calls"),
    ),
    Gauge(
        "odin_trunk_group_bursting_max_active_calls",
        "Bursting calls the trunk group allows (0 when bursting is disabled).",
        attrgetter("bursting_max_active_calls"),
    ),
)


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

    def _reports(self) -> Iterator[tuple[str, TrunkCallCapacityReport]]:
        for target, snapshot in self._snapshots:
            for report in snapshot.reports if snapshot else ():
                yield target, report

    def _target_families(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "odin_up",
            "1 when the Odin target was reachable, logged in, and an SP report succeeded "
            "(or none is configured).",
            labels=["target"],
        )
        sp_up = GaugeMetricFamily(
            "odin_service_provider_up",
            "1 when this service provider's trunk call capacity report was fetched and parsed.",
            labels=SP_LABELS,
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
        rows = Rows()
        for target, report in self._reports():
            rows.add({"target": target, "service_provider": report.service_provider_id}, report)
        for gauge in SERVICE_PROVIDER_GAUGES:
            yield gauge.family(rows)

    def _group_families(self) -> Iterator[Metric]:
        rows = Rows()
        for target, report in self._reports():
            for group in report.groups:
                labels = {
                    "target": target,
                    "service_provider": report.service_provider_id,
                    "group": group.group_id,
                }
                rows.add(labels, group)
        for gauge in GROUP_GAUGES:
            yield gauge.family(rows)
        licensed = Rows()
        for labels, group in rows:
            if group.licence is not None:
                licensed.add(labels, group.licence)
        for gauge in LICENCE_GAUGES:
            yield gauge.family(licensed)
        yield info_family(
            "odin_group_info",
            "Group name of each group id; value 1.",
            (
                {**labels, "group_name": group.group_name}
                for labels, group in rows
                if group.group_name is not None
            ),
        )

    def _trunk_group_families(self) -> Iterator[Metric]:
        rows = Rows()
        for target, snapshot in self._snapshots:
            for service_provider, trunk_group in snapshot.trunk_groups if snapshot else ():
                labels = {
                    "target": target,
                    "service_provider": service_provider,
                    "group": trunk_group.group_id,
                    "trunk_group": trunk_group.name,
                }
                rows.add(labels, trunk_group)
        for gauge in TRUNK_GROUP_GAUGES:
            yield gauge.family(rows)
        yield gauge_family(
            "odin_trunk_group_active_calls",
            "Calls active on the trunk group now, by direction.",
            (
                ({**labels, "direction": direction}, value)
                for labels, trunk_group in rows
                for direction, value in (
                    ("incoming", trunk_group.active_incoming_calls),
                    ("outgoing", trunk_group.active_outgoing_calls),
                )
            ),
        )
        yield info_family(
            "odin_trunk_group_info",
            "State of each trunk group; value 1.",
            ({**labels, "state": trunk_group.state or ""} for labels, trunk_group in rows),
        )
