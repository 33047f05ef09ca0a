"""Gauge families built from rows of parsed objects, shared by the Odin and DIDWW collectors.

A large Odin has half a million samples per scrape; building them here, rather than with
`add_metric` per sample, lets one labels dict serve every family of an object and keeps the
per-sample work in C (zip and map).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.samples import Sample

Labels = dict[str, str]


@dataclass
class Rows:
    """The samples of a family to be: the labels of each and the object its value is read from.

    Two parallel lists rather than a list of (labels, object) pairs, so that a family is built
    by zip and map, without a Python-level loop per sample, and so that the cyclic garbage
    collector has 100,000 fewer objects to traverse at each of the full collections that
    making half a million Sample tuples sets off. The labels dicts hold only strings, which
    the collector does not track.
    """

    labels: list[Labels] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)

    def add(self, labels: Labels, item: Any) -> None:
        self.labels.append(labels)
        self.items.append(item)

    def __iter__(self) -> Iterator[tuple[Labels, Any]]:
        return zip(self.labels, self.items, strict=True)


@dataclass(frozen=True)
class Gauge:
    """One gauge family: a sample per row whose value is not None (None: no sample, never 0)."""

    name: str
    documentation: str
    value: Callable[[Any], float | None]

    def family(self, rows: Rows) -> GaugeMetricFamily:
        return gauge_family(
            self.name,
            self.documentation,
            zip(rows.labels, map(self.value, rows.items), strict=True),
        )


def gauge_family(
    name: str, documentation: str, samples: Iterable[tuple[Labels, float | None]]
) -> GaugeMetricFamily:
    """A gauge family with a sample for each (labels, value) whose value is not None.

    The samples are made here rather than with add_metric, which builds a new labels dict for
    every sample: a group's labels dict is built once and shared by its eleven families (the
    renderer only reads it). That takes a third off the time and memory of building the
    families of a large scrape, half a million samples at 1,000 SPs x 50 groups.
    """
    family = GaugeMetricFamily(name, documentation)
    family.samples = [Sample(name, labels, value) for labels, value in samples if value is not None]
    return family


def info_family(name: str, documentation: str, labels: Iterable[Labels]) -> GaugeMetricFamily:
    """An info family: value 1 for each set of labels."""
    return gauge_family(name, documentation, ((each, 1.0) for each in labels))
