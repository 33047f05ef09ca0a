"""prometheus_client on its own: build and render the samples of an exposition again.

This is the yardstick the exporter's CPU is held to. Given the exposition the exporter rendered,
it rebuilds every sample with `GaugeMetricFamily.add_metric` and renders them with
`generate_latest`, the least any exporter built on prometheus_client can spend on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass
class ParsedFamily:
    """The samples of one sample name, as add_metric takes them."""

    name: str
    documentation: str
    label_names: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]]


def parse_exposition(text: str) -> list[ParsedFamily]:
    """Samples grouped by name, in order.

    The input is held so as to change the measured process as little as possible: equal
    strings are shared, and every sample is a tuple of strings and a float, which the cyclic
    garbage collector stops tracking. Held as lists, the 550,000 samples would sit in the
    oldest generation and make the full collections that building Sample tuples sets off
    rarer than in an exporter, whose heap is small: the yardstick would look cheaper.
    """
    families: dict[str, ParsedFamily] = {}
    strings: dict[str, str] = {}
    documentation = ""
    for line in text.splitlines():
        if line.startswith("# HELP "):
            documentation = _unescape(line.split(" ", 3)[3] if line.count(" ") >= 3 else "")
            continue
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"not a sample line: {line[:80]!r}")
        pairs = _LABEL.findall(match["labels"] or "")
        names = tuple(strings.setdefault(name, name) for name, _ in pairs)
        values = tuple(strings.setdefault(value, _unescape(value)) for _, value in pairs)
        family = families.get(match["name"])
        if family is None:
            family = families[match["name"]] = ParsedFamily(match["name"], documentation, names, [])
        family.samples.append((values, float(match["value"])))
    return list(families.values())


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group()], text)


def build(parsed: list[ParsedFamily]) -> list[Metric]:
    """Every sample again, the usual way: one GaugeMetricFamily per name, add_metric per sample."""
    families: list[Metric] = []
    for each in parsed:
        family = GaugeMetricFamily(each.name, each.documentation, labels=each.label_names)
        for label_values, value in each.samples:
            family.add_metric(label_values, value)
        families.append(family)
    return families


class _Families:
    """A collector yielding families that are already built."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def render(families: list[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)


def build_and_render(parsed: list[ParsedFamily]) -> bytes:
    return render(build(parsed))
