"""Odin metric families, and the sample lines of each fetched part of an Odin target.

Each function renders one part (an SP's report, a trunk group's detail) as it arrives, in the
worker that fetched it; the scrape only joins the parts. Example output for the seed
document's enterprise (abridged)::

    odin_up{target="odin-prod"} 1.0
    odin_service_provider_up{service_provider="ent.odin",target="odin-prod"} 1.0
    odin_service_provider_trunking_enabled{service_provider="ent.odin",target="odin-prod"} 1.0
    odin_service_provider_max_active_calls{service_provider="ent.odin",target="odin-prod"} 40.0
    odin_service_provider_bursting_max_active_calls{service_provider="ent.odin",...} +Inf
    odin_group_max_active_calls{group="connections.demo",service_provider="ent.odin",...} 10.0
    odin_group_trunk_group_service_quantity{group="group.odin",...} +Inf
    odin_group_info{group="group.odin",group_name="odin Group",...} 1.0
    odin_trunk_group_active_calls{direction="incoming",group="...",trunk_group="tg1",...} 7.0
    odin_trunk_group_info{group="...",state="Available",trunk_group="tg1",...} 1.0
"""

from __future__ import annotations

from operator import attrgetter

from exporter.core.exposition import Family, Gauge, PartWriter, float_field
from exporter.core.snapshot import UpFamilies
from exporter.vendors.odin.models import TrunkCallCapacityReport, TrunkGroup

Lines = dict[str, bytes]


TARGET_LABELS = ("target",)
SERVICE_PROVIDER_LABELS = (*TARGET_LABELS, "service_provider")
GROUP_LABELS = (*SERVICE_PROVIDER_LABELS, "group")
TRUNK_GROUP_LABELS = (*GROUP_LABELS, "trunk_group")
UP = Family(
    "odin_up",
    "1 when the Odin target was reachable, logged in, and an SP report succeeded "
    "(or none is configured).",
    TARGET_LABELS,
)
SERVICE_PROVIDER_UP = Family(
    "odin_service_provider_up",
    "1 when this service provider's report was fetched and parsed (or Odin answered that it "
    "has no Trunk Group service) and nothing else of it failed.",
    SERVICE_PROVIDER_LABELS,
)
DISCOVERED = Family(
    "odin_discovery_service_providers",
    "Service providers Odin's discovery listed (before include and exclude); only with "
    "discover: true. A drop to 0 is a blind exporter, not an empty Odin.",
    TARGET_LABELS,
)
TRUNKING_ENABLED = Family(
    "odin_service_provider_trunking_enabled",
    "1 when the service provider has a trunk call capacity report, 0 when Odin answers that "
    "it has no Trunk Group service.",
    SERVICE_PROVIDER_LABELS,
)
SERVICE_PROVIDER_GAUGES = (
    Gauge(
        "odin_service_provider_max_active_calls",
        "Service provider or enterprise cap on concurrent trunk calls (+Inf: unlimited).",
        SERVICE_PROVIDER_LABELS,
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_service_provider_bursting_max_active_calls",
        "Service provider or enterprise bursting cap on trunk calls (+Inf: unlimited).",
        SERVICE_PROVIDER_LABELS,
        attrgetter("bursting_max_active_calls"),
    ),
)
GROUP_GAUGES = (
    Gauge(
        "odin_group_max_active_calls",
        "Concurrent trunk calls allocated to the group.",
        GROUP_LABELS,
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_group_max_available_active_calls",
        "Most concurrent trunk calls the group may be given (+Inf: unlimited).",
        GROUP_LABELS,
        attrgetter("max_available_active_calls"),
    ),
    Gauge(
        "odin_group_bursting_max_active_calls",
        "Bursting trunk calls allocated to the group.",
        GROUP_LABELS,
        attrgetter("bursting_max_active_calls"),
    ),
    Gauge(
        "odin_group_bursting_max_available_active_calls",
        "Most bursting trunk calls the group may be given (+Inf: unlimited).",
        GROUP_LABELS,
        attrgetter("bursting_max_available_active_calls"),
    ),
    Gauge(
        "odin_group_user_limit", "The group's user limit.", GROUP_LABELS, attrgetter("user_limit")
    ),
)
LICENCE_GAUGES = (
    Gauge(
        "odin_group_trunk_group_service_quantity",
        "Trunk Group service instances authorised to the group (+Inf: unlimited).",
        GROUP_LABELS,
        float_field("quantity"),
    ),
    Gauge(
        "odin_group_trunk_group_service_usage",
        "Trunk Group service instances in use in the group.",
        GROUP_LABELS,
        float_field("usage"),
    ),
    Gauge(
        "odin_group_trunk_group_service_authorized",
        "1 when the Trunk Group service is authorised to the group.",
        GROUP_LABELS,
        float_field("authorized"),
    ),
    Gauge(
        "odin_group_trunk_group_service_assigned",
        "1 when the Trunk Group service is assigned in the group.",
        GROUP_LABELS,
        float_field("assigned"),
    ),
    Gauge(
        "odin_group_trunk_group_service_licensed",
        "1 when the Trunk Group service is licensed in the group.",
        GROUP_LABELS,
        float_field("licensed"),
    ),
)
GROUP_INFO = Family(
    "odin_group_info", "Group name of each group id; value 1.", (*GROUP_LABELS, "group_name")
)
TRUNK_GROUP_GAUGES = (
    Gauge(
        "odin_trunk_group_max_active_calls",
        "Concurrent calls the trunk group allows (+Inf: unlimited).",
        TRUNK_GROUP_LABELS,
        attrgetter("max_active_calls"),
    ),
    Gauge(
        "odin_trunk_group_max_incoming_calls",
        "Concurrent incoming calls the trunk group allows.",
        TRUNK_GROUP_LABELS,
        attrgetter("max_incoming_calls"),
    ),
    Gauge(
        "odin_trunk_group_max_outgoing_calls",
        "Concurrent outgoing calls the trunk group allows.",
        TRUNK_GROUP_LABELS,
        attrgetter("max_outgoing_calls"),
    ),
    Gauge(
        "odin_trunk_group_bursting_max_active_calls",
        "Bursting calls the trunk group allows (0 when bursting is disabled).",
        TRUNK_GROUP_LABELS,
        attrgetter("bursting_max_active_calls"),
    ),
)
ACTIVE_CALLS = Family(
    "odin_trunk_group_active_calls",
    "Calls active on the trunk group now, by direction.",
    (*TRUNK_GROUP_LABELS, "direction"),
)
TRUNK_GROUP_INFO = Family(
    "odin_trunk_group_info", "State of each trunk group; value 1.", (*TRUNK_GROUP_LABELS, "state")
)

UP_FAMILIES = UpFamilies(UP, SERVICE_PROVIDER_UP, "service_provider")
FAMILIES: tuple[Family, ...] = (
    UP,
    SERVICE_PROVIDER_UP,
    DISCOVERED,
    TRUNKING_ENABLED,
    *SERVICE_PROVIDER_GAUGES,
    *GROUP_GAUGES,
    *LICENCE_GAUGES,
    GROUP_INFO,
    *TRUNK_GROUP_GAUGES,
    ACTIVE_CALLS,
    TRUNK_GROUP_INFO,
)


def report_lines(target: str, report: TrunkCallCapacityReport) -> Lines:
    """An SP's report: its caps, and each group's caps, licence and name."""
    service_provider = report.service_provider_id
    writer = PartWriter({"target": target, "service_provider": service_provider})
    sp_labels = writer.labels({})
    writer.add_rendered(TRUNKING_ENABLED, sp_labels, 1.0)
    writer.add_object(SERVICE_PROVIDER_GAUGES, sp_labels, report)
    for group in report.groups:
        labels = writer.labels({"group": group.group_id})
        writer.add_object(GROUP_GAUGES, labels, group)
        if group.licence is not None:
            writer.add_object(LICENCE_GAUGES, labels, group.licence)
        if group.group_name is not None:
            info = {"group": group.group_id, "group_name": group.group_name}
            writer.add(GROUP_INFO, info, 1.0)
    return writer.rendered()


def discovery_lines(target: str, found: int) -> Lines:
    """How many service providers discovery listed."""
    writer = PartWriter({"target": target})
    writer.add(DISCOVERED, {}, float(found))
    return writer.rendered()


def no_trunking_lines(target: str, service_provider: str) -> Lines:
    """An SP that Odin says has no Trunk Group service: a standing fact, not a failure."""
    writer = PartWriter({"target": target, "service_provider": service_provider})
    writer.add(TRUNKING_ENABLED, {}, 0.0)
    return writer.rendered()


def trunk_group_lines(target: str, service_provider: str, trunk_group: TrunkGroup) -> Lines:
    """One trunk group's limits, live calls by direction, and state."""
    writer = PartWriter({"target": target, "service_provider": service_provider})
    identity = {"group": trunk_group.group_id, "trunk_group": trunk_group.name}
    writer.add_object(TRUNK_GROUP_GAUGES, writer.labels(identity), trunk_group)
    for direction, calls in (
        ("incoming", trunk_group.active_incoming_calls),
        ("outgoing", trunk_group.active_outgoing_calls),
    ):
        writer.add(ACTIVE_CALLS, {**identity, "direction": direction}, calls)
    if trunk_group.state is not None:
        writer.add(TRUNK_GROUP_INFO, {**identity, "state": trunk_group.state}, 1.0)
    return writer.rendered()
