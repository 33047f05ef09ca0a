"""The DIDWW trunk families and the total balance, as pure functions of parsed objects.

Each function takes every account of a scrape as (target, parsed object) pairs and returns
plain `Family` values, so the metric names, labels and HELP texts are fixed here and tested
without a collection, whatever renders them. Names label the samples; ids appear only on the
`_info` families. A null `capacity_limit` arrives as +Inf; a value of None is no sample.

Two trunks with the same labels would make the exposition invalid, so the first one wins, and
a trunk linked to a group that is not known has no sample: `exporter.didww.trunks` reports
both as errors of the collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from exporter.didww.models import (
    AccountBalance,
    DidwwTrunks,
    VoiceInTrunk,
    VoiceInTrunkGroup,
    VoiceOutTrunk,
)

Labels = dict[str, str]


@dataclass(frozen=True, slots=True)
class Family:
    """One gauge family: its samples are (labels, value) pairs."""

    name: str
    documentation: str
    samples: tuple[tuple[Labels, float], ...]


@dataclass(frozen=True, slots=True)
class _Gauge:
    name: str
    documentation: str
    value: Callable[[Any], float | None]

    def family(self, rows: Sequence[tuple[Labels, Any]]) -> Family:
        samples = ((labels, self.value(item)) for labels, item in rows)
        return Family(
            self.name,
            self.documentation,
            tuple((labels, value) for labels, value in samples if value is not None),
        )


def _info(name: str, documentation: str, labels: Iterable[Labels]) -> Family:
    return Family(name, documentation, tuple((each, 1.0) for each in labels))


def _flag(value: bool | None) -> float | None:
    return None if value is None else float(value)


VOICE_IN_TRUNK_GAUGES = (
    _Gauge(
        "didww_voice_in_trunk_capacity_limit",
        "Maximum simultaneous calls on the voice-in trunk (capacity_limit; +Inf: no limit).",
        attrgetter("capacity_limit"),
    ),
)
VOICE_IN_TRUNK_GROUP_GAUGES = (
    _Gauge(
        "didww_voice_in_trunk_group_capacity_limit",
        "Maximum simultaneous calls across the voice-in trunk group (capacity_limit; "
        "+Inf: no limit).",
        attrgetter("capacity_limit"),
    ),
    _Gauge(
        "didww_voice_in_trunk_group_trunks",
        "Trunks in the voice-in trunk group (meta.trunks_count).",
        attrgetter("trunks"),
    ),
)
VOICE_OUT_TRUNK_GAUGES = (
    _Gauge(
        "didww_voice_out_trunk_capacity_limit",
        "Maximum simultaneous outbound calls on the voice-out trunk (capacity_limit; "
        "+Inf: no limit).",
        attrgetter("capacity_limit"),
    ),
    _Gauge(
        "didww_voice_out_trunk_threshold_amount",
        "Spend on the voice-out trunk at which DIDWW notifies (threshold_amount).",
        attrgetter("threshold_amount"),
    ),
    _Gauge(
        "didww_voice_out_trunk_threshold_reached",
        "1 once the spend on the voice-out trunk has passed threshold_amount.",
        lambda trunk: _flag(trunk.threshold_reached),
    ),
    _Gauge(
        "didww_voice_out_trunk_spent_amount",
        "Spent on the voice-out trunk in the current billing period (meta.spent_amount).",
        attrgetter("spent_amount"),
    ),
)


def trunk_families(accounts: Sequence[tuple[str, DidwwTrunks]]) -> list[Family]:
    """Every trunk family, in a fixed order, with the samples of every account."""
    return [
        *voice_in_trunk_families(accounts),
        *voice_in_trunk_group_families(accounts),
        outbound_enabled_family(accounts),
        *voice_out_trunk_families(accounts),
    ]


def voice_in_trunk_families(accounts: Sequence[tuple[str, DidwwTrunks]]) -> list[Family]:
    rows: list[tuple[Labels, VoiceInTrunk]] = []
    for target, trunks in accounts:
        group_names = _group_names(trunks)
        rows += _unique_rows(
            (
                {
                    "target": target,
                    "voice_in_trunk": trunk.name,
                    "voice_in_trunk_group": group_names[trunk.group_id] if trunk.group_id else "",
                },
                trunk,
            )
            for trunk in trunks.voice_in_trunks
            if trunk.group_id is None or trunk.group_id in group_names
        )
    return [
        *(gauge.family(rows) for gauge in VOICE_IN_TRUNK_GAUGES),
        _info(
            "didww_voice_in_trunk_info",
            "Id of each voice-in trunk; value 1.",
            ({**labels, "voice_in_trunk_id": trunk.trunk_id} for labels, trunk in rows),
        ),
    ]


def voice_in_trunk_group_families(accounts: Sequence[tuple[str, DidwwTrunks]]) -> list[Family]:
    rows: list[tuple[Labels, VoiceInTrunkGroup]] = []
    for target, trunks in accounts:
        rows += _unique_rows(
            ({"target": target, "voice_in_trunk_group": group.name}, group)
            for group in trunks.voice_in_trunk_groups
        )
    return [
        *(gauge.family(rows) for gauge in VOICE_IN_TRUNK_GROUP_GAUGES),
        _info(
            "didww_voice_in_trunk_group_info",
            "Id of each voice-in trunk group; value 1.",
            ({**labels, "voice_in_trunk_group_id": group.group_id} for labels, group in rows),
        ),
    ]


def outbound_enabled_family(accounts: Sequence[tuple[str, DidwwTrunks]]) -> Family:
    return Family(
        "didww_outbound_enabled",
        "1 when /voice_out_trunks answers, 0 when it answers 403 (no outbound plan).",
        tuple(
            ({"target": target}, float(trunks.outbound_enabled))
            for target, trunks in accounts
            if trunks.outbound_enabled is not None
        ),
    )


def voice_out_trunk_families(accounts: Sequence[tuple[str, DidwwTrunks]]) -> list[Family]:
    rows: list[tuple[Labels, VoiceOutTrunk]] = []
    for target, trunks in accounts:
        rows += _unique_rows(
            ({"target": target, "voice_out_trunk": trunk.name}, trunk)
            for trunk in trunks.voice_out_trunks
        )
    return [
        *(gauge.family(rows) for gauge in VOICE_OUT_TRUNK_GAUGES),
        _info(
            "didww_voice_out_trunk_info",
            "Id of each voice-out trunk; value 1.",
            ({**labels, "voice_out_trunk_id": trunk.trunk_id} for labels, trunk in rows),
        ),
    ]


def total_balance_family(balances: Sequence[tuple[str, AccountBalance | None]]) -> Family:
    return Family(
        "didww_account_total_balance",
        "Account total balance (/balance total_balance).",
        tuple(
            ({"target": target}, balance.total_balance)
            for target, balance in balances
            if balance is not None and balance.total_balance is not None
        ),
    )


def _group_names(trunks: DidwwTrunks) -> dict[str, str]:
    return {group.group_id: group.name for group in trunks.voice_in_trunk_groups}


def _unique_rows(rows: Iterable[tuple[Labels, Any]]) -> list[tuple[Labels, Any]]:
    seen: set[tuple[tuple[str, str], ...]] = set()
    unique = []
    for labels, item in rows:
        key = tuple(sorted(labels.items()))
        if key not in seen:
            seen.add(key)
            unique.append((labels, item))
    return unique
