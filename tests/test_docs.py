"""The README's metrics table is checked against what the exporter really exposes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.metrics_core import Metric

from exporter.deadline import Deadline
from exporter.exporter import Exporter
from exporter.simulator import Simulator
from tests.helpers import parsed_families, simulator_config

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<type>\w+) \|(?P<labels>[^|]*)\|")


def documented_metrics() -> dict[str, tuple[str, frozenset[str]]]:
    text = README.read_text()
    table = text.split("<!-- metrics-table:start -->")[1].split("<!-- metrics-table:end -->")[0]
    rows = {}
    for line in table.splitlines():
        match = ROW.match(line)
        if match:
            labels = frozenset(
                label.strip() for label in match["labels"].split(",") if label.strip()
            )
            name = (
                match["name"].removesuffix("_total")
                if match["type"] == "counter"
                else match["name"]
            )
            rows[name] = (match["type"], labels)
    return rows


def exposed_metrics(families: Iterable[Metric]) -> dict[str, tuple[str, frozenset[str]]]:
    exposed = {}
    for family in families:
        assert family.samples, f"{family.name} has no sample in the demo data"
        labels = frozenset(family.samples[0].labels) - {"le"}
        exposed[family.name] = (family.type, labels)
    return exposed


def test_readme_lists_every_exposed_metric_with_its_type_and_labels() -> None:
    with Simulator() as simulator:
        exporter = Exporter(simulator_config(simulator))
        try:
            scrape = exporter.scrape(Deadline(10))
            exposed = exposed_metrics(parsed_families(scrape.chunks(openmetrics=False)).values())
        finally:
            exporter.close()
    documented = documented_metrics()
    assert len(documented) >= 40
    assert sorted(set(exposed) - set(documented)) == [], "exposed but not in the README"
    assert sorted(set(documented) - set(exposed)) == [], "in the README but not exposed"
    for name, (metric_type, labels) in documented.items():
        assert exposed[name] == (metric_type, labels), name
