"""What an Odin target keeps between collections: each kind of data refreshed at its own pace.

Capacity settings change a few times a month, live calls every second. So an SP's report (or
the fact that it has no trunking) is fetched again only after `refresh.reports`, a group's
trunk-group list after `refresh.trunk_group_lists`, and trunk-group details (the live calls)
after `refresh.trunk_group_details`, by default every scrape. A kept answer is served with its
age; a failed refresh is an error like any other, and the kept answer is served beside it
until a refresh succeeds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from exporter.core.snapshot import Part

REPORTS, TRUNK_GROUP_LISTS, TRUNK_GROUP_DETAILS = (
    "reports",
    "trunk_group_lists",
    "trunk_group_details",
)
T = TypeVar("T")


@dataclass(frozen=True)
class KeptReport:
    """An SP's report as served: its lines, and what its trunk groups are read from."""

    part: Part
    trunking: bool  # False: Odin answered that the SP has no Trunk Group service
    groups: int  # how many groups it has
    trunk_group_groups: tuple[str, ...]  # groups whose trunk-group list is to be read
    legacy_trunk_groups: tuple[tuple[str, str], ...]  # (group, trunk group) of the older shape


@dataclass(frozen=True)
class Kept(Generic[T]):
    value: T
    fetched_at: float  # time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.fetched_at


class KeptAnswers(Generic[T]):
    """The last good answer per key, and whether it is still fresh."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._kept: dict[Hashable, Kept[T]] = {}

    def fresh(self, key: Hashable) -> Kept[T] | None:
        with self._lock:
            kept = self._kept.get(key)
        if kept is None or kept.age() >= self._interval:
            return None
        return kept

    def last(self, key: Hashable) -> Kept[T] | None:
        """The last good answer however old, to serve beside a failed refresh."""
        with self._lock:
            return self._kept.get(key)

    def keep(self, key: Hashable, value: T) -> None:
        if self._interval <= 0:
            return
        with self._lock:
            self._kept[key] = Kept(value, time.monotonic())

    def retain(self, service_providers: set[str]) -> None:
        """Forget the answers of SPs no longer wanted (gone from discovery or the config);
        a key is an SP, or a tuple that starts with one."""
        with self._lock:
            for key in list(self._kept):
                service_provider = key[0] if isinstance(key, tuple) else key
                if service_provider not in service_providers:
                    del self._kept[key]
