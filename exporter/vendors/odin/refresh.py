"""What an Odin target keeps between collections: each kind of data refreshed at its own pace.

Capacity settings change a few times a month, live calls every second. So an SP's report (or
the fact that it has no trunking) is fetched again only after `refresh.reports`, a group's
trunk-group list after `refresh.trunk_group_lists`, and trunk-group details (the live calls)
after `refresh.trunk_group_details`, by default every scrape. A kept answer is served with its
age; a failed refresh is an error like any other, and the kept answer is served beside it
until a refresh succeeds. The keeping itself is `exporter.core.kept`, the same for every vendor.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.core.snapshot import Part

REPORTS, TRUNK_GROUP_LISTS, TRUNK_GROUP_DETAILS = (
    "reports",
    "trunk_group_lists",
    "trunk_group_details",
)


@dataclass(frozen=True)
class KeptReport:
    """An SP's report as served: its lines, and what its trunk groups are read from."""

    part: Part
    trunking: bool  # False: Odin answered that the SP has no Trunk Group service
    groups: int  # how many groups it has
    trunk_group_groups: tuple[str, ...]  # groups whose trunk-group list is to be read
    legacy_trunk_groups: tuple[tuple[str, str], ...]  # (group, trunk group) of the older shape
