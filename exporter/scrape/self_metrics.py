"""The exporter's own metrics in a scrape: per-target collection state, requests, errors,
build and reload state, and (on /metrics only) the process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.core.telemetry import Telemetry
from exporter.scrape.sources import TargetOutcome


class CollectionStateCollector:
    """How each target's collection went in this scrape.

    Example output::

        trunk_capacity_exporter_collect_duration_seconds{target="odin-prod"} 0.42
        trunk_capacity_exporter_last_success_timestamp_seconds{target="odin-prod"} 1.7e+09
        trunk_capacity_exporter_data_age_seconds{target="odin-prod"} 0.0
        trunk_capacity_exporter_data_kind_age_seconds{data="reports",target="odin-prod"} 120.5
        trunk_capacity_exporter_data_kind_pending{data="trunk_group_details",target="odin-prod"} 0.0
        trunk_capacity_exporter_data_kind_refresh_interval_seconds{data="reports",...} 300.0
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
        kind_age = GaugeMetricFamily(
            "trunk_capacity_exporter_data_kind_age_seconds",
            "Age of the oldest data of this kind served (each kind is refreshed at its own pace).",
            labels=["target", "data"],
        )
        pending = GaugeMetricFamily(
            "trunk_capacity_exporter_data_kind_pending",
            "Items of this kind known to exist but never read yet: deferred by the call budget "
            "(a cold start, new objects), not failed.",
            labels=["target", "data"],
        )
        interval = GaugeMetricFamily(
            "trunk_capacity_exporter_data_kind_refresh_interval_seconds",
            "How often each item of this kind is meant to be read (0: every scrape).",
            labels=["target", "data"],
        )
        for outcome in self._outcomes:
            if outcome.collection is not None:
                snapshot = outcome.snapshot
                duration.add_metric([outcome.name], outcome.collection.duration)
                age.add_metric([outcome.name], outcome.age)
                for kind, seconds in sorted(snapshot.ages.items()):
                    kind_age.add_metric([outcome.name, kind], outcome.age + seconds)
                for kind in sorted(snapshot.intervals):
                    pending.add_metric([outcome.name, kind], snapshot.pending.get(kind, 0))
                    interval.add_metric([outcome.name, kind], snapshot.intervals[kind])
            if outcome.last_success is not None:
                last_success.add_metric([outcome.name], outcome.last_success)
        families = (duration, last_success, age, kind_age, pending, interval)
        yield from (family for family in families if family.samples)


class TelemetryCollector:
    """Request and error counters of the scrape's targets, build and reload state."""

    def __init__(self, telemetry: Telemetry, targets: Sequence[str]) -> None:
        self._telemetry = telemetry
        self._targets = frozenset(targets)

    def collect(self) -> Iterator[Metric]:
        yield from self._telemetry.target_families(self._targets)
        yield from self._telemetry.process_families()


def own_registry(
    outcomes: Sequence[TargetOutcome], telemetry: Telemetry, process: bool
) -> CollectorRegistry:
    """A fresh registry of the exporter's own metrics for one scrape; `process` adds the
    standard process_* metrics (for /metrics, not /probe)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CollectionStateCollector(outcomes))
    registry.register(TelemetryCollector(telemetry, [o.name for o in outcomes]))
    if process:
        ProcessCollector(registry=registry)
    return registry
