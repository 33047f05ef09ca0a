"""The carrier's families. Example output::

fakecarrier_up{target="carrier"} 1.0
fakecarrier_channels_total{target="carrier"} 30.0
fakecarrier_channels_in_use{target="carrier"} 12.0
"""

from __future__ import annotations

from operator import attrgetter

from exporter.vendors.fakecarrier.models import Channels

from exporter.core.exposition import Family, Gauge, PartWriter
from exporter.core.snapshot import UpFamilies

TARGET_LABELS = ("target",)
UP = Family("fakecarrier_up", "1 when the carrier's channels were read.", TARGET_LABELS)
CHANNEL_GAUGES = (
    Gauge("fakecarrier_channels_total", "Channels bought.", TARGET_LABELS, attrgetter("total")),
    Gauge("fakecarrier_channels_in_use", "Channels in use.", TARGET_LABELS, attrgetter("in_use")),
)
UP_FAMILIES = UpFamilies(UP)
FAMILIES: tuple[Family, ...] = (UP, *CHANNEL_GAUGES)


def channel_lines(target: str, channels: Channels) -> dict[str, bytes]:
    writer = PartWriter({"target": target})
    writer.add_object(CHANNEL_GAUGES, writer.labels({}), channels)
    return writer.rendered()
