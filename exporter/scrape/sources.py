"""Single flight and the `min_interval` cache in front of one target's fetcher.

Concurrent scrapes (an HA pair of Prometheus servers) share the collection in flight; with
`min_interval`, a scrape within that interval of the last good collection is served from
memory. A collection that failed is not cached, so the next scrape tries afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

from exporter.core.deadline import Deadline
from exporter.core.memory import MemoryBudget
from exporter.core.snapshot import CollectionError, Snapshot
from exporter.core.telemetry import Telemetry
from exporter.core.vendor import Fetcher, Vendor

log = logging.getLogger(__name__)

# A waiting scrape gives an in-flight collection this long past the deadline to hand over: a
# collection stops waiting for upstream calls at the deadline and builds in milliseconds, but
# on a busy machine its thread competes with workers still finishing. Half the default
# --scrape.timeout-offset, so the answer still starts well before Prometheus gives up.
HANDOVER_GRACE = 0.25


@dataclass(frozen=True)
class Collection:
    """A finished collection of one target."""

    snapshot: Snapshot
    finished_at: float  # wall-clock time, for last_success
    finished_monotonic: float  # for ages: immune to the wall clock being stepped
    duration: float


@dataclass(frozen=True)
class TargetStatus:
    """What the landing page shows of a target, from memory (it touches no upstream)."""

    name: str
    kind: str
    url: str
    last: Collection | None  # the last finished collection, good or not
    last_error: tuple[CollectionError, float] | None  # the last error and when (wall clock)
    last_success: float | None

    @property
    def up(self) -> bool | None:
        """None before the first collection."""
        return None if self.last is None else self.last.snapshot.up

    @property
    def data_age(self) -> float | None:
        return None if self.last is None else time.monotonic() - self.last.finished_monotonic


@dataclass(frozen=True)
class Started:
    """A scrape's hold on one target: the collection it waits for (None when it is served
    from memory), and `wait(until)`, which returns once that is done or at `until`
    (time.monotonic())."""

    in_flight: Future[Collection] | None
    wait: Callable[[float], TargetOutcome]


@dataclass(frozen=True)
class TargetOutcome:
    """What one scrape knows about one target."""

    name: str
    vendor: Vendor
    collection: Collection | None  # None: nothing arrived before the deadline
    snapshot: Snapshot  # the collection's, or a failed one
    age: float
    last_success: float | None
    reusable: bool = False  # kept for min_interval: later scrapes may serve the same one


class TargetSource:
    """One configured target: its fetcher, the collection in flight and the last good one."""

    def __init__(
        self, target: Any, vendor: Vendor, telemetry: Telemetry, memory: MemoryBudget
    ) -> None:
        self.target = target
        self._memory = memory  # each collection opens its account from it
        self.name: str = target.name
        self.vendor = vendor
        self._fetcher: Fetcher = vendor.open(target, telemetry)
        self._min_interval: float = target.min_interval
        self._telemetry = telemetry
        self._lock = threading.Lock()
        self._in_flight: Future[Collection] | None = None
        self._in_flight_deadline: Deadline | None = None
        self._last_good: Collection | None = None
        self._last: Collection | None = None
        self._last_error: tuple[CollectionError, float] | None = None
        self._last_success: float | None = None

    def start(self, deadline: Deadline) -> Started:
        """Serve the cache, join the collection in flight, or begin one.

        A collection runs whoever still waits for it: a scrape that arrives meanwhile joins
        it, and its outcome is what the landing page, the last success and `min_interval`
        keep. It ends by the earliest deadline of the scrapes that joined it, so a client that
        asked for a long timeout and hung up cannot hold the target for every scrape after
        it."""
        with self._lock:
            cached = self._fresh_cache()
            if cached is not None:
                outcome = self._outcome(cached, age=time.monotonic() - cached.finished_monotonic)
                return Started(None, lambda _: outcome)
            begin = self._in_flight is None
            in_flight = self._in_flight = self._in_flight or Future()
            if begin:
                collecting = self._in_flight_deadline = deadline.fork(self._memory.account())
            elif self._in_flight_deadline is not None:
                self._in_flight_deadline.shorten_to(deadline)
        if begin:
            self._begin(in_flight, collecting)
        return Started(in_flight, lambda until: self._wait(in_flight, until))

    def _begin(self, in_flight: Future[Collection], deadline: Deadline) -> None:
        try:
            threading.Thread(
                target=self._run,
                args=(in_flight, deadline),
                daemon=True,
                name=f"collect-{self.name}",
            ).start()
        except RuntimeError as error:  # "can't start new thread": this collection fails
            log.error(
                "cannot start a collection",
                extra={"target": self.name, "reason": "internal", "error": str(error)},
            )
            failure = CollectionError("internal", "", f"cannot start a collection: {error}")
            self._finish(in_flight, self.vendor.failed_snapshot(self.name, failure), 0.0)

    def _wait(self, in_flight: Future[Collection], until: float) -> TargetOutcome:
        try:
            collection = in_flight.result(timeout=max(0.0, until - time.monotonic()))
        except FutureTimeout:
            # This scrape gets nothing: counted here, since the collection it joined (started
            # by a scrape with a later deadline) may yet end well and count nothing.
            self._telemetry.count_error(self.name, "timeout")
            return self._outcome(None, age=0.0)
        return self._outcome(collection, age=0.0)

    def status(self) -> TargetStatus:
        with self._lock:
            return TargetStatus(
                self.name,
                self.vendor.key,
                self.target.url,
                self._last,
                self._last_error,
                self._last_success,
            )

    def close(self) -> None:
        """Release connections once any in-flight collection is done with them."""
        with self._lock:
            in_flight = self._in_flight
        if in_flight is None:
            self._fetcher.close()
        else:
            in_flight.add_done_callback(lambda _: self._fetcher.close())

    def _fresh_cache(self) -> Collection | None:
        cached = self._last_good
        if cached is None or time.monotonic() - cached.finished_monotonic >= self._min_interval:
            return None
        return cached

    def _outcome(self, collection: Collection | None, age: float) -> TargetOutcome:
        if collection is not None:
            snapshot = collection.snapshot
        else:
            late = CollectionError("timeout", "", "the collection did not hand over in time")
            snapshot = self.vendor.failed_snapshot(self.name, late)
        reusable = collection is not None and collection is self._last_good
        return TargetOutcome(
            self.name, self.vendor, collection, snapshot, age, self._last_success, reusable
        )

    def _run(self, in_flight: Future[Collection], deadline: Deadline) -> None:
        started = time.monotonic()
        try:
            snapshot = self._fetcher.collect(deadline)
        except Exception as error:  # a bug outside any task: down, with its traceback
            log.exception(
                "collection failed unexpectedly", extra={"target": self.name, "reason": "internal"}
            )
            detail = f"unexpected {type(error).__name__}"
            snapshot = self.vendor.failed_snapshot(
                self.name, CollectionError("internal", "", detail)
            )
        finally:
            # Whatever is still waiting for an answer belongs to no collection any more, nor
            # does the memory its answers were charged with.
            deadline.abort_in_flight()
            deadline.memory.close()
        self._finish(in_flight, snapshot, time.monotonic() - started)

    def _finish(self, in_flight: Future[Collection], snapshot: Snapshot, duration: float) -> None:
        """Keep the collection and hand it over; whatever happens, the next scrape can begin
        another (a collection never handed over would leave the target waiting for good)."""
        collection = Collection(snapshot, time.time(), time.monotonic(), duration)
        try:
            for recorded in snapshot.errors:
                self._telemetry.count_error(self.name, recorded.reason)
        finally:
            with self._lock:
                self._in_flight = None
                self._in_flight_deadline = None
                # The landing page needs the outcome, not the rendered lines: holding those
                # until the next collection has built its own would keep two copies of a
                # large target's data in memory during every scrape.
                self._last = replace(collection, snapshot=replace(snapshot, parts=()))
                if snapshot.errors:
                    self._last_error = (snapshot.errors[0], collection.finished_at)
                if snapshot.complete:
                    self._last_success = collection.finished_at
                if snapshot.up and self._min_interval > 0:
                    self._last_good = collection
            in_flight.set_result(collection)
