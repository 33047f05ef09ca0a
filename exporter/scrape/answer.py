"""One scrape's answer: the targets' snapshots and the exporter's own metrics, as a stream."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from exporter.chain import LINK_INFO, LINK_RESOLVED, Link, LinkCheck, link_lines
from exporter.core.exposition import (
    CompressedPrefix,
    coalesce,
    data_chunks,
    gzip_from,
    gzip_stream,
    own_metrics,
)
from exporter.registry import VENDORS
from exporter.scrape.sources import Collection, TargetOutcome


@dataclass
class _Compressed:
    collections: tuple[Collection, ...]
    prefix: CompressedPrefix


# The scrape's targets and whether OpenMetrics (a reload, which may change the links in the
# data, starts a new cache).
Key = tuple[tuple[str, ...], bool]


class GzipCache:
    """The last compressed data of each scope (all targets, or one) and format, kept only
    while every collection in it is itself kept for `min_interval`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Key, _Compressed] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def find(self, key: Key, collections: tuple[Collection, ...]) -> CompressedPrefix | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or len(entry.collections) != len(collections):
            return None
        same = all(a is b for a, b in zip(entry.collections, collections, strict=True))
        return entry.prefix if same else None

    def keep(
        self, key: Key, collections: tuple[Collection, ...]
    ) -> Callable[[CompressedPrefix], None]:
        def store(prefix: CompressedPrefix) -> None:
            with self._lock:
                self._entries[key] = _Compressed(collections, prefix)

        return store

    def forget(self, key: Key) -> None:
        with self._lock:
            self._entries.pop(key, None)


@dataclass(frozen=True)
class Scrape:
    outcomes: Sequence[TargetOutcome]
    own: CollectorRegistry
    cache: GzipCache = field(default_factory=GzipCache)
    links: Sequence[Link] = ()  # those of the scrape's Odin targets
    checks: Sequence[LinkCheck] = ()  # the sides of links on the scrape's targets

    @property
    def all_up(self) -> bool:
        return all(outcome.snapshot.up for outcome in self.outcomes)

    def chunks(self, openmetrics: bool, gzip: bool = False) -> Iterator[bytes]:
        """The exposition in pieces of about 64 kB: each vendor's families over all its
        targets, then the exporter's own metrics (rendered when the data is written)."""
        data = coalesce(self._data(openmetrics))
        if not gzip:
            return self._then_own(data, openmetrics)
        key = (tuple(outcome.name for outcome in self.outcomes), openmetrics)
        collections = tuple(o.collection for o in self.outcomes if o.collection is not None)
        if not all(outcome.reusable for outcome in self.outcomes):
            self.cache.forget(key)  # its collections are gone: do not keep them alive
            return gzip_stream(data, lambda: own_metrics(self.own, openmetrics), keep=None)
        prefix = self.cache.find(key, collections)
        if prefix is not None:
            return gzip_from(prefix, lambda: own_metrics(self.own, openmetrics))
        keep = self.cache.keep(key, collections)
        return gzip_stream(data, lambda: own_metrics(self.own, openmetrics), keep)

    def _then_own(self, data: Iterator[bytes], openmetrics: bool) -> Iterator[bytes]:
        yield from data
        yield own_metrics(self.own, openmetrics)

    def _data(self, openmetrics: bool) -> Iterator[bytes]:
        for vendor in VENDORS:
            parts = [
                part.lines
                for outcome in self.outcomes
                if outcome.vendor is vendor
                for part in outcome.snapshot.parts
            ]
            yield from data_chunks(vendor.families, parts, openmetrics)
        families = (LINK_INFO, LINK_RESOLVED)
        yield from data_chunks(families, [link_lines(self.links, self.checks)], openmetrics)
