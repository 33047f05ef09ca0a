"""The DIDWW trunk families, and the sample lines of one account's trunks.

Names label the samples; ids appear only on the `_info` families. A null `capacity_limit`
arrives as +Inf, and a value of None is no sample. Example output::

    didww_voice_in_trunk_capacity_limit{target="didww",voice_in_trunk="Fax trunk",
        voice_in_trunk_group=""} 2.0
    didww_voice_in_trunk_group_capacity_limit{target="didww",voice_in_trunk_group="Overflow"} +Inf
    didww_voice_in_trunk_group_trunks{target="didww",voice_in_trunk_group="Primary"} 2.0
    didww_outbound_enabled{target="didww"} 1.0
    didww_voice_out_trunk_threshold_reached{target="didww",voice_out_trunk="Outbound US"} 1.0

Two trunks with the same labels would make the exposition invalid, so the first one wins, and
a trunk linked to a group that is not known has no sample: `exporter.vendors.didww.trunks` reports
both as errors of the collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from exporter.core.exposition import Family, Gauge, PartWriter, float_field
from exporter.vendors.didww.models import DidwwTrunks

VOICE_IN_TRUNK_GROUP_LABELS = ("target", "voice_in_trunk_group")
VOICE_IN_TRUNK_LABELS = (*VOICE_IN_TRUNK_GROUP_LABELS, "voice_in_trunk")
VOICE_OUT_TRUNK_LABELS = ("target", "voice_out_trunk")
VOICE_IN_TRUNK_GAUGES = (
    Gauge(
        "didww_voice_in_trunk_capacity_limit",
        "Maximum simultaneous calls on the voice-in trunk (capacity_limit; +Inf: no limit).",
        VOICE_IN_TRUNK_LABELS,
        attrgetter("capacity_limit"),
    ),
)
VOICE_IN_TRUNK_INFO = Family(
    "didww_voice_in_trunk_info",
    "Id of each voice-in trunk, with its group; value 1.",
    (*VOICE_IN_TRUNK_LABELS, "voice_in_trunk_id"),
)
VOICE_IN_TRUNK_GROUP_GAUGES = (
    Gauge(
        "didww_voice_in_trunk_group_capacity_limit",
        "Maximum simultaneous calls across the voice-in trunk group (capacity_limit; "
        "+Inf: no limit).",
        VOICE_IN_TRUNK_GROUP_LABELS,
        attrgetter("capacity_limit"),
    ),
    Gauge(
        "didww_voice_in_trunk_group_trunks",
        "Trunks in the voice-in trunk group (meta.trunks_count).",
        VOICE_IN_TRUNK_GROUP_LABELS,
        attrgetter("trunks"),
    ),
)
VOICE_IN_TRUNK_GROUP_INFO = Family(
    "didww_voice_in_trunk_group_info",
    "Id of each voice-in trunk group; value 1.",
    (*VOICE_IN_TRUNK_GROUP_LABELS, "voice_in_trunk_group_id"),
)
OUTBOUND_ENABLED = Family(
    "didww_outbound_enabled",
    "1 when /voice_out_trunks answers, 0 when it answers 403 (no outbound plan).",
    ("target",),
)
VOICE_OUT_TRUNK_GAUGES = (
    Gauge(
        "didww_voice_out_trunk_capacity_limit",
        "Maximum simultaneous outbound calls on the voice-out trunk (capacity_limit; "
        "+Inf: no limit).",
        VOICE_OUT_TRUNK_LABELS,
        attrgetter("capacity_limit"),
    ),
    Gauge(
        "didww_voice_out_trunk_threshold_amount",
        "Spend on the voice-out trunk at which DIDWW notifies (threshold_amount).",
        VOICE_OUT_TRUNK_LABELS,
        attrgetter("threshold_amount"),
    ),
    Gauge(
        "didww_voice_out_trunk_threshold_reached",
        "1 once the spend on the voice-out trunk has passed threshold_amount.",
        VOICE_OUT_TRUNK_LABELS,
        float_field("threshold_reached"),
    ),
    Gauge(
        "didww_voice_out_trunk_spent_amount",
        "Spent on the voice-out trunk in the current billing period (meta.spent_amount).",
        VOICE_OUT_TRUNK_LABELS,
        attrgetter("spent_amount"),
    ),
)
VOICE_OUT_TRUNK_INFO = Family(
    "didww_voice_out_trunk_info",
    "Id of each voice-out trunk; value 1.",
    (*VOICE_OUT_TRUNK_LABELS, "voice_out_trunk_id"),
)

TRUNK_FAMILIES: tuple[Family, ...] = (
    *VOICE_IN_TRUNK_GAUGES,
    VOICE_IN_TRUNK_INFO,
    *VOICE_IN_TRUNK_GROUP_GAUGES,
    VOICE_IN_TRUNK_GROUP_INFO,
    OUTBOUND_ENABLED,
    *VOICE_OUT_TRUNK_GAUGES,
    VOICE_OUT_TRUNK_INFO,
)


def write_trunks(writer: PartWriter, trunks: DidwwTrunks) -> None:
    """Every trunk sample of one account (the writer carries its `target`)."""
    group_names = {group.group_id: group.name for group in trunks.voice_in_trunk_groups}
    written = _Once()
    for trunk in trunks.voice_in_trunks:
        if trunk.group_id is not None and trunk.group_id not in group_names:
            continue
        group_name = group_names[trunk.group_id] if trunk.group_id else ""
        identity = {"voice_in_trunk": trunk.name, "voice_in_trunk_group": group_name}
        if written.first(identity.values(), "in"):
            writer.add_object(VOICE_IN_TRUNK_GAUGES, writer.labels(identity), trunk)
            writer.add(VOICE_IN_TRUNK_INFO, {**identity, "voice_in_trunk_id": trunk.trunk_id}, 1.0)
    for group in trunks.voice_in_trunk_groups:
        identity = {"voice_in_trunk_group": group.name}
        if written.first(identity.values(), "group"):
            writer.add_object(VOICE_IN_TRUNK_GROUP_GAUGES, writer.labels(identity), group)
            ids = {**identity, "voice_in_trunk_group_id": group.group_id}
            writer.add(VOICE_IN_TRUNK_GROUP_INFO, ids, 1.0)
    if trunks.outbound_enabled is not None:
        writer.add(OUTBOUND_ENABLED, {}, float(trunks.outbound_enabled))
    for out in trunks.voice_out_trunks:
        identity = {"voice_out_trunk": out.name}
        if written.first(identity.values(), "out"):
            writer.add_object(VOICE_OUT_TRUNK_GAUGES, writer.labels(identity), out)
            writer.add(VOICE_OUT_TRUNK_INFO, {**identity, "voice_out_trunk_id": out.trunk_id}, 1.0)


class _Once:
    """Remembers label sets already written, per kind of record."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, ...]] = set()

    def first(self, values: Iterable[str], kind: str) -> bool:
        key = (kind, *values)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
