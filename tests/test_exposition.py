"""The fast exposition writes exactly what prometheus_client writes for the same families."""

from __future__ import annotations

import gzip
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as generate_text
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.samples import Sample

from exporter.chain import Link
from exporter.core.deadline import Deadline
from exporter.core.exposition import (
    Family,
    PartWriter,
    coalesce,
    data_chunks,
    gzip_from,
    gzip_stream,
)
from exporter.scrape.running import Exporter
from simulator import Simulator
from tests.helpers import parsed_families, simulator_config

# Any text a label value or HELP can hold: everything but surrogates, which UTF-8 cannot encode
# (the parsers refuse those before they reach a label; see test_never_blind.py).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e21, 123456789.0, 1234567.0, 1e6, 1e7]),
    st.integers(-(2**53), 2**53).map(float),
)
# A part: for each of the families, some samples (a label value and a value).
parts = st.lists(
    st.lists(st.lists(st.tuples(texts, values), max_size=3), min_size=3, max_size=3),
    min_size=1,
    max_size=4,
)


class Families:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def reference(
    families: list[Family], samples: list[list[tuple[dict[str, str], float]]]
) -> tuple[bytes, bytes]:
    """prometheus_client's text and OpenMetrics (without `# EOF`) for the same samples."""
    built = []
    for family, family_samples in zip(families, samples, strict=True):
        if not family_samples:
            continue
        metric = GaugeMetricFamily(family.name, family.documentation)
        metric.samples = [Sample(family.name, labels, value) for labels, value in family_samples]
        built.append(metric)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(built))  # type: ignore[arg-type]
    openmetrics = generate_openmetrics(registry)
    assert openmetrics.endswith(b"# EOF\n")
    return generate_text(registry), openmetrics.removesuffix(b"# EOF\n")


@settings(max_examples=200, deadline=None)
@given(helps=st.lists(texts, min_size=3, max_size=3), target=texts, generated=parts)
def test_sample_lines_are_byte_for_byte_prometheus_clients(
    helps: list[str], target: str, generated: list[list[list[tuple[str, float]]]]
) -> None:
    families = [Family(f"family_{n}", help_text, ()) for n, help_text in enumerate(helps)]
    rendered_parts = []
    expected: list[list[tuple[dict[str, str], float]]] = [[], [], []]
    for part in generated:
        writer = PartWriter({"target": target})
        for family, index in zip(families, range(3), strict=True):
            for label_value, value in part[index]:
                writer.add(family, {"label": label_value}, value)
                expected[index].append(({"target": target, "label": label_value}, value))
        rendered_parts.append(writer.rendered())
    text, openmetrics = reference(families, expected)
    assert b"".join(data_chunks(families, rendered_parts, openmetrics=False)) == text
    assert b"".join(data_chunks(families, rendered_parts, openmetrics=True)) == openmetrics


def test_special_floats_are_written_as_go_does() -> None:
    writer = PartWriter({})
    family = Family("f", "h", ())
    for value in (math.inf, -math.inf, math.nan, -0.0, 0.0, 1e21, 5e-324, 1234567.0):
        writer.add(family, {}, value)
    lines = writer.rendered()["f"].decode().splitlines()
    assert lines == [
        "f +Inf",
        "f -Inf",
        "f NaN",
        "f -0.0",
        "f 0.0",
        "f 1e+21",
        "f 5e-324",
        "f 1.234567e+06",
    ]


def test_coalesce_keeps_every_byte_in_order_and_bounds_the_pieces() -> None:
    chunks = [bytes([n % 256]) * (n * 997 % 50_000) for n in range(200)]
    pieces = list(coalesce(chunks, size=64 * 1024))
    assert b"".join(pieces) == b"".join(chunks)
    assert all(len(piece) < 64 * 1024 + 50_000 for piece in pieces)


def test_a_gzip_prefix_kept_once_finishes_any_later_answer() -> None:
    data = [b"a 1.0\n" * 10_000, b"b 2.0\n" * 10_000]
    kept = []
    first = b"".join(gzip_stream(iter(data), lambda: b"own 1.0\n", kept.append))
    (prefix,) = kept
    second = b"".join(gzip_from(prefix, lambda: b"own 2.0\n"))
    third = b"".join(gzip_from(prefix, lambda: b"own 3.0\n"))
    assert gzip.decompress(first) == b"".join(data) + b"own 1.0\n"
    assert gzip.decompress(second) == b"".join(data) + b"own 2.0\n"
    assert gzip.decompress(third) == b"".join(data) + b"own 3.0\n"
    assert second.startswith(b"".join(prefix.chunks))


def test_an_ha_pair_within_min_interval_shares_the_compressed_data() -> None:
    with Simulator() as simulator:
        exporter = Exporter(simulator_config(simulator, min_interval=60.0))
        try:
            first = b"".join(exporter.scrape(Deadline(5)).chunks(openmetrics=False, gzip=True))
            second_scrape = exporter.scrape(Deadline(5))
            second = b"".join(second_scrape.chunks(openmetrics=False, gzip=True))
            plain = b"".join(second_scrape.chunks(openmetrics=False))
        finally:
            exporter.close()
    first_text, second_text = gzip.decompress(first), gzip.decompress(second)
    data_end = first_text.index(b"# HELP trunk_capacity_exporter_")
    assert second_text[:data_end] == first_text[:data_end] == plain[:data_end]
    # The second answer repeats the first's compressed bytes, the data; only the exporter's own
    # metrics at the end are compressed afresh.
    assert second[: len(first) // 2] == first[: len(first) // 2]
    assert simulator.stats.logins == 1


def test_a_whole_scrape_round_trips_through_prometheus_clients_parser_and_renderer() -> None:
    with Simulator() as simulator:
        exporter = Exporter(simulator_config(simulator))
        try:
            scrape = exporter.scrape(Deadline(5))
            text = b"".join(scrape.chunks(openmetrics=False))
        finally:
            exporter.close()
    families = list(parsed_families(text.decode()).values())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(families))  # type: ignore[arg-type]
    assert generate_text(registry) == text


def test_a_reload_that_changes_the_links_is_not_served_from_the_compressed_data() -> None:
    link = Link("odin-demo", "ent.acme", "didww-demo", "acme-hq-pbx", "Main office")
    with Simulator() as simulator:
        config = simulator_config(simulator, min_interval=60.0)
        exporter = Exporter(config)
        try:
            # /probe of the Odin target: the only one kept for min_interval in this config.
            first = exporter.scrape(Deadline(5), target="odin-demo")
            b"".join(first.chunks(openmetrics=False, gzip=True))
            exporter.apply_config(replace(config, links=(link,)))
            second = exporter.scrape(Deadline(5), target="odin-demo")
            answer = second.chunks(openmetrics=False, gzip=True)
            text = gzip.decompress(b"".join(answer))
        finally:
            exporter.close()
    assert b'trunk_capacity_link_info{capacity_group="Main office"' in text


def test_a_reload_drops_the_compressed_data_kept_before_it() -> None:
    with Simulator() as simulator:
        config = simulator_config(simulator, min_interval=60.0)
        exporter = Exporter(config)
        try:
            # /probe of the Odin target: the only one kept for min_interval in this config.
            kept = exporter.scrape(Deadline(5), target="odin-demo")
            b"".join(kept.chunks(openmetrics=False, gzip=True))
            exporter.apply_config(replace(config, targets=config.targets[:1]))
            after = exporter.scrape(Deadline(5))
        finally:
            exporter.close()
    assert len(kept.cache) == 1
    assert len(after.cache) == 0  # nothing from before the reload is held any more
