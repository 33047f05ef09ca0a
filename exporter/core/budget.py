"""How many upstream calls one collection may make, and how a kind of data is read in turns.

A vendor's rate limit is per key (DIDWW: 10 requests/s, shared with the customer's own tools),
and a collection that starts every call it knows of at that rate loses to the deadline and is
blind. So each collection gets a budget: the calls that fit into the time it has at the
target's rate (`Throttle`, lower after the upstream answered 429 and remembered across
collections). A fetcher spends it most important first; what does not fit is deferred, served
from an earlier collection, or pending when it was never read. Deferred is not an error: it is
counted (`trunk_capacity_exporter_data_kind_pending`, `..._data_kind_age_seconds`).

Kinds of data that are kept between collections are refreshed in turns: each collection reads
what would otherwise be past its interval by the next one, and a steady share of the oldest
ahead of time (`refresh_share`), so that no collection re-reads every report or every group at
once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable

from exporter.core.deadline import Deadline

# The share of the time left that calls are planned into: the rest absorbs the answers'
# latency and the rendering after the last one, so that planned calls end before the deadline.
PLANNED_SHARE = 0.8
# After a 429 the rate is halved; each collection without one wins back a quarter, so a short
# burst of someone else's traffic on the key costs a few scrapes, not the day.
_BACK_OFF = 0.5
_RECOVER = 1.25
# Never below this share of the configured rate: the balance and a few items still fit.
_FLOOR = 0.1
# How much of a new answer time moves the latency the budget plans with.
_SMOOTHING = 0.2
# A kind read in turns reads this much more than its steady share per collection.
_CATCH_UP = 1.25


class Throttle:
    """How many calls one target's collections may make: its `rate_limit`, lowered after a 429
    (and nothing planned into a Retry-After) and recovered over the following collections, and
    no more than `max_concurrency` calls in flight can answer at the latency the upstream shows.
    Shared by a target's collections; its session reports every answer and every 429."""

    def __init__(
        self, rate: float, concurrency: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._configured = rate
        self._rate = rate
        self._concurrency = concurrency  # 0: latency is no limit
        self._latency: float | None = None  # a moving average of answer times, in seconds
        self._quiet_until = 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._limited_in_collection = False

    @property
    def rate(self) -> float:
        """Requests per second; 0 means no limit."""
        with self._lock:
            return self._rate

    def answered(self, seconds: float) -> None:
        """An answer (or a timeout) took `seconds`."""
        with self._lock:
            previous = self._latency
            self._latency = (
                seconds if previous is None else previous + _SMOOTHING * (seconds - previous)
            )

    def rate_limited(self, retry_after: float | None = None) -> None:
        """The upstream answered 429: plan fewer calls (halved once per collection, however
        many 429s it meets), and none into `retry_after`."""
        with self._lock:
            if self._configured > 0 and not self._limited_in_collection:
                self._rate = max(self._configured * _FLOOR, self._rate * _BACK_OFF)
            self._limited_in_collection = True
            if retry_after is not None:
                self._quiet_until = max(self._quiet_until, self._clock() + retry_after)

    def collection_ended(self) -> None:
        """A collection without a 429 wins back some of the rate."""
        with self._lock:
            if not self._limited_in_collection and self._configured > 0:
                self._rate = min(self._configured, self._rate * _RECOVER)
            self._limited_in_collection = False

    def budget(self, deadline: Deadline) -> CallBudget:
        """The calls that fit into what is left before `deadline`: at the current rate, and as
        many as the calls in flight can bring back at the latency seen so far (unlimited with
        neither); and none started too late to answer before it."""
        with self._lock:
            rate, latency = self._rate, self._latency
            quiet = max(0.0, self._quiet_until - self._clock())
        usable = max(0.0, deadline.remaining() - quiet) * PLANNED_SHARE
        limits = []
        if self._configured > 0:
            limits.append(rate * usable)
        if self._concurrency > 0 and latency:
            limits.append(self._concurrency * usable / latency)
        calls = math.floor(min(limits)) if limits else None
        return CallBudget(calls, deadline, latency or 0.0)


class CallBudget:
    """The calls one collection may still make; taken by concurrent tasks. A call is not taken
    once what is left before the deadline is less than an answer takes: planned then, it would
    only fail at the deadline."""

    def __init__(
        self, calls: int | None, deadline: Deadline | None = None, latency: float = 0.0
    ) -> None:
        self._left = calls  # None: no limit
        self._deadline = deadline
        self._latency = latency
        self._lock = threading.Lock()
        self._claimed: set[Hashable] = set()

    @property
    def left(self) -> int | None:
        with self._lock:
            return self._left

    def take(self, calls: int = 1) -> bool:
        """True when `calls` more fit, and they are counted as made."""
        if self._deadline is not None and self._deadline.remaining() <= self._latency:
            return False
        with self._lock:
            if self._left is None:
                return True
            if self._left < calls:
                return False
            self._left -= calls
            return True

    def claim(self, item: Hashable) -> bool:
        """True the first time `item` is asked for and a call is left for it: each item is read
        at most once in a collection, whichever of its tasks comes upon it."""
        with self._lock:
            if item in self._claimed:
                return False
        if not self.take():
            return False
        with self._lock:
            if item in self._claimed:  # claimed meanwhile: give the call back
                if self._left is not None:
                    self._left += 1
                return False
            self._claimed.add(item)
            return True

    def claimed(self, item: Hashable) -> bool:
        with self._lock:
            return item in self._claimed

    def spend(self, calls: int = 1) -> None:
        """Calls made whatever the budget (a login, the balance): they still use the rate."""
        with self._lock:
            if self._left is not None:
                self._left = max(0, self._left - calls)


def refresh_share(known: int, interval: float, period: float) -> int:
    """How many of `known` items refreshed every `interval` a collection that comes `period`
    after the last one reads ahead of their time, the oldest first: a quarter more than the
    steady share, so that items read together (a cold start) drift apart into steady turns
    instead of falling due together again. With an interval of 0, every item."""
    if known <= 0:
        return 0
    if interval <= 0:
        return known
    return min(known, math.floor(_CATCH_UP * known * period / interval))


class CollectionClock:
    """How long ago the previous collection of a target began: the scrape interval as the
    exporter sees it, for `refresh_share`. Before the second collection, `first_guess`."""

    def __init__(self, first_guess: float = 15.0, clock: Callable[[], float] = time.monotonic):
        self._first_guess = first_guess
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def tick(self) -> float:
        with self._lock:
            now = self._clock()
            period = self._first_guess if self._last is None else now - self._last
            self._last = now
        return max(period, 0.001)
