"""The exposition, rendered where the data arrives and streamed as it is written.

A large Odin has half a million samples per scrape. Building prometheus_client families for
them and rendering those at scrape time took longer than the network, and held the whole
64 MB answer three times over. Instead, each fetched part of a target (an SP report, a trunk
group's detail) is rendered into sample lines by the worker that received it, grouped by
family (`PartWriter`); a scrape then only writes each family's header and its parts' lines
(`stream`), in chunks, compressed on the way when the client asks for gzip.

The bytes are exactly what prometheus_client renders for the same families, in the Prometheus
text format 0.0.4 and in OpenMetrics 1.0.0 (tests/test_exposition.py compares them on arbitrary
label values and floats). The exporter's own metrics (counters, histograms, process metrics)
are few, and still rendered by prometheus_client itself.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.utils import floatToGoString

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# Large enough that a 64 MB answer is a thousand writes, small enough to bound the buffer.
CHUNK_BYTES = 64 * 1024
# Compression level 1 is 5x faster than 5 and makes the answer only 10 % larger: the text
# repeats its label names on every line.
GZIP_LEVEL = 1


@dataclass(frozen=True)
class Family:
    """A gauge family: its name, HELP text and the names of the labels its samples carry
    (checked against what is rendered, in tests/test_families.py)."""

    name: str
    documentation: str
    labels: tuple[str, ...]

    def header(self, openmetrics: bool) -> bytes:
        help_text = self.documentation.replace("\\", r"\\").replace("\n", r"\n")
        if openmetrics:
            help_text = help_text.replace('"', r"\"")
        return f"# HELP {self.name} {help_text}\n# TYPE {self.name} gauge\n".encode()


@dataclass(frozen=True)
class Gauge(Family):
    """A family whose value is read from a parsed object (None: no sample)."""

    value: Callable[[Any], float | None]


def float_field(field: str) -> Callable[[Any], float | None]:
    """A Gauge's value read from a field that holds a count or a flag (True is 1, False 0);
    None is no sample."""
    get = attrgetter(field)

    def value(item: Any) -> float | None:
        raw = get(item)
        return None if raw is None else float(raw)

    return value


def escape_label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def label_text(labels: Mapping[str, str]) -> str:
    """`{name="value",...}` with names sorted, as prometheus_client writes them."""
    if not labels:
        return ""
    pairs = ",".join(f'{name}="{escape_label_value(labels[name])}"' for name in sorted(labels))
    return "{" + pairs + "}"


class PartWriter:
    """Sample lines of one part of a target, grouped by family.

    Every sample carries the `base` labels (the target's name); a value of None is no sample,
    never 0.
    """

    def __init__(self, base: Mapping[str, str]) -> None:
        self._base = dict(base)
        self._lines: dict[str, list[str]] = {}
        # Values repeat (limits, flags, small counts): each is formatted once per part.
        self._value_text: dict[float, str] = {}

    def labels(self, extra: Mapping[str, str]) -> str:
        """The label text of base + extra, to share between the families of one object."""
        return label_text({**self._base, **extra})

    def add(self, family: Family, extra: Mapping[str, str], value: float | None) -> None:
        self.add_rendered(family, self.labels(extra), value)

    def add_rendered(self, family: Family, labels: str, value: float | None) -> None:
        if value is not None:
            self._append(family.name, labels, value)

    def add_object(self, gauges: Iterable[Gauge], labels: str, item: Any) -> None:
        """One sample of each gauge, read from `item`, all with the same labels."""
        for gauge in gauges:
            value = gauge.value(item)
            if value is not None:
                self._append(gauge.name, labels, value)

    def _append(self, name: str, labels: str, value: float) -> None:
        text = self._value_text.get(value)
        if text is None or (value == 0 and text != _zero_text(value)):
            text = floatToGoString(value)
            if value == value:  # NaN is never found again: not worth a key
                self._value_text[value] = text
        lines = self._lines.get(name)
        if lines is None:
            lines = self._lines[name] = []
        lines.append(f"{name}{labels} {text}\n")

    def rendered(self) -> dict[str, bytes]:
        """The lines by family name, as UTF-8 (a string that cannot be encoded raises here,
        in the worker that rendered it, never in the scrape)."""
        return {name: "".join(lines).encode() for name, lines in self._lines.items()}


def _zero_text(zero: float) -> str:
    """0.0 and -0.0 are one dictionary key but two texts."""
    return "-0.0" if math.copysign(1.0, zero) < 0 else "0.0"


def data_chunks(
    families: Sequence[Family], parts: Sequence[Mapping[str, bytes]], openmetrics: bool
) -> Iterator[bytes]:
    """Each family that has samples: its header, then its lines from every part in order."""
    by_family: dict[str, list[bytes]] = {family.name: [] for family in families}
    for lines in parts:
        for name, chunk in lines.items():
            if chunk:
                by_family[name].append(chunk)
    for family in families:
        chunks = by_family[family.name]
        if chunks:
            yield family.header(openmetrics)
            yield from chunks


def own_metrics(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    """The exporter's own metrics, by prometheus_client (in OpenMetrics, ending in `# EOF`)."""
    return generate_openmetrics(registry) if openmetrics else generate_text(registry)


def coalesce(chunks: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The same bytes in pieces of about `size`: fewer writes, and a bounded buffer."""
    buffer: list[bytes] = []
    buffered = 0
    for chunk in chunks:
        buffer.append(chunk)
        buffered += len(chunk)
        if buffered >= size:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    if buffer:
        yield b"".join(buffer)


@dataclass(frozen=True)
class CompressedPrefix:
    """The start of a gzip answer, compressed once, and the compressor's state after it.

    An HA pair of Prometheus servers scrapes the same data within `min_interval`: the second
    answer repeats these bytes and finishes a copy of the compressor with its own tail (the
    exporter's own metrics), instead of compressing 64 MB again.
    """

    chunks: tuple[bytes, ...]
    compressor: Any  # a zlib compressobj, sync-flushed after the prefix; copied, never used


def gzip_stream(
    prefix: Iterable[bytes],
    tail: Callable[[], bytes],
    keep: Callable[[CompressedPrefix], None] | None,
) -> Iterator[bytes]:
    """One gzip member of `prefix` then `tail()`, compressed chunk by chunk; `keep` (if any)
    receives the compressed prefix for the next answer that starts the same way."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    compressed: list[bytes] = []
    for chunk in prefix:
        piece = compressor.compress(chunk)
        if piece:
            if keep is not None:
                compressed.append(piece)
            yield piece
    piece = compressor.flush(zlib.Z_SYNC_FLUSH)
    yield piece
    if keep is not None:
        keep(CompressedPrefix((*compressed, piece), compressor.copy()))
    yield compressor.compress(tail()) + compressor.flush()


def gzip_from(prefix: CompressedPrefix, tail: Callable[[], bytes]) -> Iterator[bytes]:
    """An answer that starts with a prefix compressed before."""
    yield from prefix.chunks
    compressor = prefix.compressor.copy()
    yield compressor.compress(tail()) + compressor.flush()
