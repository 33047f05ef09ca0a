"""Collect every target concurrently under the scrape's deadline, and expose the result.

`Exporter` owns one `TargetSource` per configured target. A source gives single flight
(concurrent scrapes share one upstream collection) and, with `min_interval`, serves recent
data from memory. Each scrape gets a fresh `CollectorRegistry` whose collectors yield
families built from that scrape's snapshots only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.collection_result import CollectionError
from exporter.config import Config, DidwwTarget, OdinTarget
from exporter.deadline import Deadline
from exporter.didww.client import DidwwClient
from exporter.didww.collection import DidwwCollection, failed_didww_snapshot
from exporter.didww.collector import DidwwCollector
from exporter.odin.client import OdinClient
from exporter.odin.collection import OdinCollection, failed_odin_snapshot
from exporter.odin.collector import OdinCollector
from exporter.telemetry import Telemetry

log = logging.getLogger(__name__)

Kind = Literal["odin", "didww"]
# A waiting scrape gives an in-flight collection this long past the deadline to hand over
# (a collection stops waiting for upstream calls at the deadline and is built in milliseconds).
_HANDOVER_GRACE = 0.1


class Snapshot(Protocol):
    @property
    def up(self) -> bool: ...

    @property
    def complete(self) -> bool: ...

    @property
    def errors(self) -> tuple[CollectionError, ...]: ...


@dataclass(frozen=True)
class Collection:
    """A finished collection of one target."""

    snapshot: Snapshot
    finished_at: float  # wall-clock time, for last_success
    finished_monotonic: float  # for ages: immune to the wall clock being stepped
    duration: float


@dataclass(frozen=True)
class TargetOutcome:
    """What one scrape knows about one target."""

    name: str
    kind: Kind
    collection: Collection | None  # None: nothing arrived before the deadline
    age: float
    last_success: float | None


class TargetSource:
    """Single flight and `min_interval` cache in front of one target's collection."""

    def __init__(
        self,
        target: OdinTarget | DidwwTarget,
        kind: Kind,
        collect: Callable[[Deadline], Snapshot],
        close: Callable[[], None],
        min_interval: float,
        telemetry: Telemetry,
    ) -> None:
        self.target = target
        self.name = target.name
        self.kind = kind
        self._collect = collect
        self._close = close
        self._min_interval = min_interval
        self._telemetry = telemetry
        self._lock = threading.Lock()
        self._in_flight: Future[Collection] | None = None
        self._last_good: Collection | None = None
        self._last_success: float | None = None

    def start(self, deadline: Deadline) -> Callable[[], TargetOutcome]:
        """Serve the cache, join the collection in flight, or begin one; the function returned
        waits for it, at most until the deadline."""
        with self._lock:
            cached = self._fresh_cache()
            if cached is not None:
                outcome = self._outcome(cached, age=time.monotonic() - cached.finished_monotonic)
                return lambda: outcome
            if self._in_flight is None:
                self._in_flight = Future()
                threading.Thread(
                    target=self._run,
                    args=(self._in_flight, deadline),
                    daemon=True,
                    name=f"collect-{self.name}",
                ).start()
            in_flight = self._in_flight
        return lambda: self._wait(in_flight, deadline)

    def _wait(self, in_flight: Future[Collection], deadline: Deadline) -> TargetOutcome:
        try:
            collection = in_flight.result(timeout=deadline.remaining() + _HANDOVER_GRACE)
        except FutureTimeout:
            # The collection counts its own timeouts when it ends; this scrape only reports it.
            log.warning(
                "collection did not finish before the scrape deadline",
                extra={"target": self.name, "reason": "timeout"},
            )
            return self._outcome(None, age=0.0)
        return self._outcome(collection, age=0.0)

    def close(self) -> None:
        """Release connections once any in-flight collection is done with them."""
        with self._lock:
            in_flight = self._in_flight
        if in_flight is None:
            self._close()
        else:
            in_flight.add_done_callback(lambda _: self._close())

    def _fresh_cache(self) -> Collection | None:
        cached = self._last_good
        if cached is None or time.monotonic() - cached.finished_monotonic >= self._min_interval:
            return None
        return cached

    def _outcome(self, collection: Collection | None, age: float) -> TargetOutcome:
        return TargetOutcome(self.name, self.kind, collection, age, self._last_success)

    def _run(self, in_flight: Future[Collection], deadline: Deadline) -> None:
        started = time.monotonic()
        try:
            snapshot = self._collect(deadline)
        except Exception:  # a bug, not an upstream problem: keep serving, say where
            log.exception("collection failed unexpectedly", extra={"target": self.name})
            snapshot = _failed_snapshot(self.kind)
        finished = time.monotonic()
        collection = Collection(snapshot, time.time(), finished, finished - started)
        for error in snapshot.errors:
            self._telemetry.count_error(self.name, error.reason)
        with self._lock:
            self._in_flight = None
            if snapshot.complete:
                self._last_success = collection.finished_at
            # Only data from a target that is up is worth serving again; a failure is not
            # cached, so the next scrape tries afresh.
            if snapshot.up and self._min_interval > 0:
                self._last_good = collection
        in_flight.set_result(collection)


def _failed_snapshot(kind: Kind) -> Snapshot:
    return failed_odin_snapshot("bug") if kind == "odin" else failed_didww_snapshot("bug")


def build_sources(
    config: Config, telemetry: Telemetry, current: Mapping[str, TargetSource] | None = None
) -> dict[str, TargetSource]:
    """One source per configured target, each with its own client and connection pool.

    A target whose settings did not change keeps its `current` source, and with it its
    token, connections, cache and last success.
    """
    sources: dict[str, TargetSource] = {}
    kinds: list[tuple[Kind, Sequence[Any], Any, Any]] = [
        ("odin", config.odin, OdinClient, OdinCollection),
        ("didww", config.didww, DidwwClient, DidwwCollection),
    ]
    for kind, targets, client_class, collection_class in kinds:
        for target in targets:
            unchanged = (current or {}).get(target.name)
            if unchanged is not None and unchanged.target == target:
                sources[target.name] = unchanged
                continue
            client = client_class(target, telemetry)
            sources[target.name] = TargetSource(
                target,
                kind,
                collection_class(client),
                client.close,
                target.min_interval,
                telemetry,
            )
            telemetry.register_target(target.name)
    return sources


class ExporterCollector:
    """Per-target collection state of one scrape.

    Example output::

        trunk_capacity_exporter_collect_duration_seconds{target="odin-prod"} 0.42
        trunk_capacity_exporter_last_success_timestamp_seconds{target="odin-prod"} 1.7e+09
        trunk_capacity_exporter_data_age_seconds{target="odin-prod"} 0.0
    """

    def __init__(self, outcomes: Sequence[TargetOutcome]) -> None:
        self._outcomes = outcomes

    def collect(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "trunk_capacity_exporter_collect_duration_seconds",
            "Time the collection of the target took.",
            labels=["target"],
        )
        last_success = GaugeMetricFamily(
            "trunk_capacity_exporter_last_success_timestamp_seconds",
            "When the target was last collected without any error.",
            labels=["target"],
        )
        age = GaugeMetricFamily(
            "trunk_capacity_exporter_data_age_seconds",
            "Age of the data served (0 when fetched for this scrape).",
            labels=["target"],
        )
        for outcome in self._outcomes:
            if outcome.collection is not None:
                duration.add_metric([outcome.name], outcome.collection.duration)
                age.add_metric([outcome.name], outcome.age)
            if outcome.last_success is not None:
                last_success.add_metric([outcome.name], outcome.last_success)
        yield from (duration, last_success, age)


class _TelemetryCollector:
    def __init__(self, telemetry: Telemetry, targets: Sequence[str], process: bool) -> None:
        self._telemetry = telemetry
        self._targets = frozenset(targets)
        self._process = process

    def collect(self) -> Iterator[Metric]:
        yield from self._telemetry.target_families(self._targets)
        if self._process:
            yield from self._telemetry.process_families()


class Exporter:
    """The running exporter: configuration, targets and the exporter's own metrics."""

    def __init__(self, config: Config, telemetry: Telemetry | None = None) -> None:
        self.telemetry = telemetry or Telemetry()
        self._lock = threading.Lock()
        self.config = config
        self._sources = build_sources(config, self.telemetry)
        self.telemetry.record_reload(True, time.time())

    @property
    def target_names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._sources)

    def has_target(self, name: str) -> bool:
        with self._lock:
            return name in self._sources

    def apply_config(self, config: Config) -> None:
        """Replace changed targets; collections already running finish on the old clients."""
        with self._lock:
            current = dict(self._sources)
        sources = build_sources(config, self.telemetry, current)
        with self._lock:
            self._sources, self.config = sources, config
        for name, source in current.items():
            if sources.get(name) is not source:
                source.close()
        self.telemetry.record_reload(True, time.time())

    def reload_failed(self) -> None:
        self.telemetry.record_reload(False, time.time())

    def close(self) -> None:
        with self._lock:
            sources, self._sources = self._sources, {}
        for source in sources.values():
            source.close()

    def scrape(self, deadline: Deadline, target: str | None = None) -> CollectorRegistry:
        """Collect all targets (or the one named) concurrently; a registry ready to render."""
        with self._lock:
            sources = [s for s in self._sources.values() if target in (None, s.name)]
        outcomes = collect_concurrently(sources, deadline)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(OdinCollector(_snapshots(outcomes, "odin")))
        registry.register(DidwwCollector(_snapshots(outcomes, "didww")))
        registry.register(ExporterCollector(outcomes))
        registry.register(
            _TelemetryCollector(self.telemetry, [s.name for s in sources], process=target is None)
        )
        return registry


def collect_concurrently(
    sources: Sequence[TargetSource], deadline: Deadline
) -> list[TargetOutcome]:
    """Every source's outcome: all collections start first, so waiting for them in turn
    costs no more than waiting for the slowest, and one slow target delays no other."""
    waits = [source.start(deadline) for source in sources]
    return [wait() for wait in waits]


def _snapshots(outcomes: Sequence[TargetOutcome], kind: Kind) -> list[tuple[str, Any]]:
    return [
        (o.name, o.collection.snapshot if o.collection else None)
        for o in outcomes
        if o.kind == kind
    ]
