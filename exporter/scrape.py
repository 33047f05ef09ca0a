"""One scrape's answer: the targets' snapshots and the exporter's own metrics, as a stream."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from exporter.exposition import coalesce, data_chunks, gzip_stream, own_metrics
from exporter.target_source import TargetOutcome
from exporter.vendors import VENDORS


@dataclass(frozen=True)
class Scrape:
    outcomes: Sequence[TargetOutcome]
    own: CollectorRegistry

    @property
    def all_up(self) -> bool:
        return all(outcome.snapshot.up for outcome in self.outcomes)

    def chunks(self, openmetrics: bool, gzip: bool = False) -> Iterator[bytes]:
        """The exposition in pieces of about 64 kB: each vendor's families over all its
        targets, then the exporter's own metrics."""
        pieces = coalesce(self._pieces(openmetrics))
        return gzip_stream(pieces) if gzip else pieces

    def _pieces(self, openmetrics: bool) -> Iterator[bytes]:
        for vendor in VENDORS:
            parts = [
                part.lines
                for outcome in self.outcomes
                if outcome.vendor is vendor
                for part in outcome.snapshot.parts
            ]
            yield from data_chunks(vendor.families, parts, openmetrics)
        yield own_metrics(self.own, openmetrics)
