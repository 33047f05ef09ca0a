"""The capacity chain: which DIDWW capacity feeds which Odin service provider or trunk group.

Links come from the config, not from an upstream; they are exposed so that recording rules
can join the carrier side onto the BroadWorks side (deploy/mixin, docs/alerting.md). Example::

    trunk_capacity_link_info{capacity_group="Main office",didww_target="didww",
      service_provider="ent.acme",target="odin-prod",trunk_group="acme-hq-pbx",
      voice_in_trunk="Main SIP trunk"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable

from exporter.config import Link
from exporter.core.exposition import Family, PartWriter

LINK_INFO = Family(
    "trunk_capacity_link_info",
    "A DIDWW shared capacity group and/or voice-in trunk (didww_target, capacity_group, "
    "voice_in_trunk) that feeds an Odin service provider or trunk group (target, "
    'service_provider, trunk_group; "" for the whole SP), as configured under links:; value 1.',
)


def link_lines(links: Iterable[Link]) -> dict[str, bytes]:
    writer = PartWriter({})
    for link in links:
        labels = {
            "target": link.odin_target,
            "service_provider": link.service_provider,
            "trunk_group": link.trunk_group,
            "didww_target": link.didww_target,
            "capacity_group": link.capacity_group,
            "voice_in_trunk": link.voice_in_trunk,
        }
        writer.add(LINK_INFO, labels, 1.0)
    return writer.rendered()
