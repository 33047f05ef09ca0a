"""Answers kept between collections, each kind refreshed at its own pace.

A vendor keeps the last good answer per key (an SP's report, a group's trunk-group list) in a
`KeptAnswers` with the interval of its kind, serves it while it is fresh, and fetches it again
once it is not. A kept answer is served with its age; beside a failed refresh the last good
answer is still there (`last`) to serve while the failure is reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


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

    def retain(self, scopes: set[str]) -> None:
        """Forget the answers of scopes no longer wanted (an SP gone from discovery or the
        config); a key is a scope, or a tuple that starts with one."""
        with self._lock:
            for key in list(self._kept):
                scope = key[0] if isinstance(key, tuple) else key
                if scope not in scopes:
                    del self._kept[key]
