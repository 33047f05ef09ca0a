"""The exporter's own metrics: upstream requests, collection errors, build and reload state.

These are the only values that live across scrapes, so they are owned by one `Telemetry`
instance per running exporter (never module globals) and yielded, filtered by target, into
each scrape's exposition.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Collection, Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from exporter import __version__

ERROR_REASONS = (
    "timeout",
    "connection",
    "auth",
    "rate_limited",
    "http_error",
    "invalid_response",
    "internal",
)

# Upstream calls range from a few ms (simulator, LAN) to the 10 s default timeout.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Telemetry:
    """Counters and histograms that accumulate over the life of the process."""

    def __init__(self) -> None:
        self._upstream_requests = Counter(
            "trunk_capacity_exporter_upstream_requests",
            "Upstream HTTP requests by endpoint path template and status code or error class.",
            ["target", "endpoint", "code"],
            registry=None,
        )
        self._upstream_duration = Histogram(
            "trunk_capacity_exporter_upstream_request_duration_seconds",
            "Duration of upstream HTTP requests, including reading the body.",
            ["target", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=None,
        )
        self._collect_errors = Counter(
            "trunk_capacity_exporter_collect_errors",
            "Collection errors by reason.",
            ["target", "reason"],
            registry=None,
        )
        self._lock = threading.Lock()
        self._reload_successful = 1.0
        self._reload_timestamp = 0.0

    def register_target(self, target: str) -> None:
        """Start every error reason at 0 so that rate() sees the first error."""
        for reason in ERROR_REASONS:
            self._collect_errors.labels(target, reason)

    def observe_request(self, target: str, endpoint: str, code: str, seconds: float) -> None:
        self._upstream_requests.labels(target, endpoint, code).inc()
        self._upstream_duration.labels(target, endpoint).observe(seconds)

    def count_error(self, target: str, reason: str) -> None:
        self._collect_errors.labels(target, reason).inc()

    def record_reload(self, successful: bool, timestamp: float) -> None:
        with self._lock:
            self._reload_successful = 1.0 if successful else 0.0
            if successful:
                self._reload_timestamp = timestamp

    def reload_state(self) -> tuple[bool, float]:
        with self._lock:
            return self._reload_successful == 1.0, self._reload_timestamp

    def target_families(self, targets: Collection[str]) -> Iterator[Metric]:
        """Request and error counters of the given targets only.

        The `_created` samples are left out: they double the series count and no dashboard
        or rule of this project reads them.
        """
        for metric in (self._upstream_requests, self._upstream_duration, self._collect_errors):
            for family in metric.collect():
                family.samples = [
                    s
                    for s in family.samples
                    if s.labels["target"] in targets and not s.name.endswith("_created")
                ]
                if family.samples:
                    yield family

    def process_families(self) -> Iterator[Metric]:
        """Build information and configuration reload state."""
        build = GaugeMetricFamily(
            "trunk_capacity_exporter_build_info",
            "Version of the exporter and of the Python running it; value 1.",
            labels=["version", "python_version"],
        )
        build.add_metric([__version__, platform.python_version()], 1.0)
        yield build
        with self._lock:
            successful, timestamp = self._reload_successful, self._reload_timestamp
        yield GaugeMetricFamily(
            "trunk_capacity_exporter_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
            value=successful,
        )
        yield GaugeMetricFamily(
            "trunk_capacity_exporter_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
            value=timestamp,
        )
