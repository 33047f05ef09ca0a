"""Answers kept between collections, each kind refreshed at its own pace.

A vendor keeps the last good answer per key (an SP's report, a group's trunk-group list) in a
`KeptAnswers` with the interval of its kind, serves it while it is fresh, and fetches it again
once it is not (`is_stale`, or `due` for items read in turns, the stalest first). A kept answer is
served with its age; beside a failed refresh, or when the call budget defers its refresh, the
last good answer is still there (`last`) to serve. An interval of 0 means "read on every
collection": the answer is still kept, for a collection whose budget cannot read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Kept(Generic[T]):
    value: T
    fetched_at: float  # time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.fetched_at


class KeptAnswers(Generic[K, T]):
    """The last good answer per key, and whether it is still fresh."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._kept: dict[K, Kept[T]] = {}

    def last(self, key: K) -> Kept[T] | None:
        """The last good answer however old, to serve beside a failed refresh."""
        with self._lock:
            return self._kept.get(key)

    def keep(self, key: K, value: T) -> None:
        with self._lock:
            self._kept[key] = Kept(value, time.monotonic())

    def is_stale(self, key: K) -> bool:
        """Whether `key` is to be read again: nothing kept, or kept longer than the interval."""
        kept = self.last(key)
        return kept is None or kept.age() >= self._interval

    def due(self, keys: Iterable[K], period: float, share: int) -> list[K]:
        """Which of `keys` to read again in a collection that comes `period` after the last one,
        the oldest first: every kept answer that would be past its interval by the next
        collection, and at least the `share` oldest (read ahead of their time), so that answers
        read together drift apart and a kind is read in steady turns instead of in bursts."""
        now = time.monotonic()
        with self._lock:
            aged = [(now - self._kept[key].fetched_at, key) for key in keys if key in self._kept]
        aged.sort(key=lambda pair: pair[0], reverse=True)
        must = sum(1 for age, _ in aged if age + period >= self._interval)
        return [key for _, key in aged[: max(must, share)]]

    def reading(self, keys: Iterable[K], slim: Callable[[T], T]) -> None:
        """`keys` are being read again. At an interval of 0 (read on every collection) their
        answers are slimmed now (`slim` drops what is large and keeps what the next collection
        plans with): holding the old rendered lines until the new arrive would keep two copies
        of a large target in memory during every collection (BENCHMARKS.md)."""
        if self._interval > 0:
            return
        with self._lock:
            for key in keys:
                kept = self._kept.get(key)
                if kept is not None:
                    self._kept[key] = Kept(slim(kept.value), kept.fetched_at)

    def forget(self, keys: Iterable[K]) -> None:
        with self._lock:
            for key in keys:
                self._kept.pop(key, None)

    def known(self) -> list[K]:
        with self._lock:
            return list(self._kept)

    def retain(self, scopes: set[str]) -> None:
        """Forget the answers of scopes no longer wanted (an SP gone from discovery or the
        config); a key is a scope, or a tuple that starts with one."""
        with self._lock:
            for key in list(self._kept):
                scope = key[0] if isinstance(key, tuple) else key
                if scope not in scopes:
                    del self._kept[key]
