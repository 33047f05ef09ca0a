"""What the exporter needs of an upstream API: the small interface every vendor package fills.

A vendor package (`exporter/vendors/odin/`, `exporter/vendors/didww/`) owns its config section
(`config.py`), a client that speaks the API, models for its parsed answers, a fetcher that
collects one snapshot of a target under a deadline (through `exporter.core.collection`), and
the metric families its parts are rendered into. Its `VENDOR` ties those together, and
`exporter/registry.py` lists every vendor: adding one is a new package of the same shape plus
one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from exporter.config.target import TargetSection
from exporter.core.deadline import Deadline
from exporter.core.exposition import Family
from exporter.core.snapshot import CollectionError, Snapshot, UpFamilies, failed_snapshot
from exporter.core.telemetry import Telemetry


class Fetcher(Protocol):
    """Collects snapshots of one configured target; owns its client and connections."""

    def collect(self, deadline: Deadline) -> Snapshot:
        """Everything that arrived before `deadline`, and an error for everything else."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Vendor:
    section: TargetSection  # its config: the top-level key, keys, parser and summary
    families: tuple[Family, ...]  # every data family, in exposition order
    up: UpFamilies
    open: Callable[[Any, Telemetry], Fetcher]  # a fetcher (and its client) for one target

    @property
    def key(self) -> str:
        """The config section and the metric prefix: "odin"."""
        return self.section.key

    def failed_snapshot(self, target: str, error: CollectionError) -> Snapshot:
        """The snapshot of a collection that could not run at all."""
        return failed_snapshot(target, self.up, error)
