"""What an Odin target keeps between collections, and which trunk groups are hot.

Capacity settings change a few times a month, live calls every second. So an SP's report (or
the fact that it has no trunking) is fetched again after `refresh.reports`, a group's
trunk-group list after `refresh.trunk_group_lists`, each in turns so that no collection reads
them all at once. Trunk-group details (the live calls) are read by need: a hot trunk group, near
its limit or climbing fast, or in a group or SP whose trunk groups' calls add up to near its
cap, on every collection; the others in turns, so that none is older than
`refresh.trunk_group_details`. A kept answer is served with its age; a failed refresh is an
error like any other, and the kept answer is served beside it until a refresh succeeds. The
keeping itself is `exporter.core.kept`, the same for every vendor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from exporter.core.snapshot import Part
from exporter.vendors.odin.models import TrunkGroup

REPORTS, TRUNK_GROUP_LISTS, TRUNK_GROUP_DETAILS = (
    "reports",
    "trunk_group_lists",
    "trunk_group_details",
)


@dataclass(frozen=True)
class KeptReport:
    """An SP's report as served: its lines, and what its trunk groups are read from."""

    part: Part | None  # None: let go while it is read again (`refresh.reports: 0s`)
    trunking: bool  # False: Odin answered that the SP has no Trunk Group service
    groups: int  # how many groups it has
    trunk_group_groups: tuple[str, ...]  # groups whose trunk-group list is to be read
    legacy_trunk_groups: tuple[tuple[str, str], ...]  # (group, trunk group) of the older shape
    problems: tuple[str, ...] = ()  # what was left out of it: an error whenever it is served
    # The caps its trunk groups' calls add up against (maxActiveCalls): the SP's, each group's.
    call_limit: float | None = None
    group_call_limits: Mapping[str, float | None] = field(default_factory=dict)

    def without_lines(self) -> KeptReport:
        return replace(self, part=None)


# Hot: live calls at or above this share of the trunk group's effective limit (maxActiveCalls
# plus its bursting calls), the share the shipped alerts warn at...
HOT_SHARE = 0.8
# ...or past half of it and up by this share of it since the last read: at that pace it can
# reach the limit before a trunk group read in turns is read again.
RISING_SHARE = 0.1
_RISING_FROM = 0.5


@dataclass(frozen=True)
class KeptDetail:
    """A trunk group's detail as served, and whether it is to be read on every collection."""

    part: Part | None  # None: let go while it is read again (`trunk_group_details: 0s`)
    calls: float  # live calls, both directions, when it was read
    hot: bool

    def without_lines(self) -> KeptDetail:
        return replace(self, part=None)


def is_hot(detail: TrunkGroup, calls_before: float | None) -> bool:
    """Near a limit (the trunk group's, or a direction's) or rising fast toward one."""
    burst = detail.bursting_max_active_calls or 0.0
    incoming = detail.active_incoming_calls or 0.0
    outgoing = detail.active_outgoing_calls or 0.0
    checks = [
        (incoming + outgoing, detail.max_active_calls),
        (incoming, detail.max_incoming_calls),
        (outgoing, detail.max_outgoing_calls),
    ]
    for calls, limit in checks:
        if limit is None or math.isinf(limit):
            continue
        effective = limit + burst
        if effective > 0 and calls >= HOT_SHARE * effective:
            return True
    limit = detail.max_active_calls
    if calls_before is None or limit is None or math.isinf(limit) or limit + burst <= 0:
        return False
    calls, effective = incoming + outgoing, limit + burst
    return calls >= _RISING_FROM * effective and calls - calls_before >= RISING_SHARE * effective


def near_cap(calls: float, limit: float | None) -> bool:
    """Whether live calls summed over a group's or an SP's trunk groups near its cap: the group
    and SP alerts add them up, so each of them counts then, not only the busy ones."""
    return limit is not None and 0 < limit < math.inf and calls >= HOT_SHARE * limit


def live_calls(detail: TrunkGroup) -> float:
    return (detail.active_incoming_calls or 0.0) + (detail.active_outgoing_calls or 0.0)
