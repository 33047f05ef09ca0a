"""The capacity chain: which DIDWW capacity feeds which Odin service provider or trunk group.

Links come from the config (`links:`), not from an upstream; they are exposed so that
recording rules can join the carrier side onto the BroadWorks side (deploy/mixin,
docs/alerting.md). The chain is the one place besides the registry and the demo that names both
vendors. Example::

    trunk_capacity_link_info{capacity_group="Main office",didww_target="didww",
      service_provider="ent.acme",target="odin-prod",trunk_group="acme-hq-pbx",
      voice_in_trunk="Main SIP trunk"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exporter.config.section import Section
from exporter.config.target import TargetSettings
from exporter.core.exposition import Family, PartWriter
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.odin.config import OdinTarget

LINK_KEYS = (
    "odin_target",
    "service_provider",
    "trunk_group",
    "didww_target",
    "capacity_group",
    "voice_in_trunk",
)


@dataclass(frozen=True)
class Link:
    """A DIDWW shared capacity group and/or voice-in trunk that feeds an Odin service provider
    or trunk group: the two capacities in series on the way to a PBX."""

    odin_target: str
    service_provider: str
    didww_target: str
    trunk_group: str = ""  # "": the whole service provider
    capacity_group: str = ""
    voice_in_trunk: str = ""


LINK_LABELS = (
    "target",
    "service_provider",
    "trunk_group",
    "didww_target",
    "capacity_group",
    "voice_in_trunk",
)
LINK_INFO = Family(
    "trunk_capacity_link_info",
    "A DIDWW shared capacity group and/or voice-in trunk (didww_target, capacity_group, "
    "voice_in_trunk) that feeds an Odin service provider or trunk group (target, "
    'service_provider, trunk_group; "" for the whole SP), as configured under links:; value 1.',
    LINK_LABELS,
)


def links_of(links: Sequence[Link], target: str | None) -> list[Link]:
    """The links a scrape of `target` (None: every target) exposes: those of its Odin side."""
    return [link for link in links if target in (None, link.odin_target)]


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


def parse_links(entries: Sequence[Section], targets: Sequence[TargetSettings]) -> tuple[Link, ...]:
    """The `links:` entries, each naming targets of this file."""
    odin_targets = {t.name: t for t in targets if isinstance(t, OdinTarget)}
    didww_names = {t.name for t in targets if isinstance(t, DidwwTarget)}
    return tuple(_parse_link(entry, odin_targets, didww_names) for entry in entries)


def _parse_link(
    section: Section, odin_targets: dict[str, OdinTarget], didww_names: set[str]
) -> Link:
    odin_target = section.string("odin_target")
    if odin_target not in odin_targets:
        raise section.fail("odin_target", "names no odin: entry of this file")
    didww_target = section.string("didww_target")
    if didww_target not in didww_names:
        raise section.fail("didww_target", "names no didww: entry of this file")
    service_provider = section.string("service_provider")
    listed = odin_targets[odin_target].service_providers
    if listed and service_provider not in listed:
        raise section.fail("service_provider", f"is not among {odin_target}'s service_providers")
    link = Link(
        odin_target=odin_target,
        service_provider=service_provider,
        didww_target=didww_target,
        trunk_group=section.optional_string("trunk_group") or "",
        capacity_group=section.optional_string("capacity_group") or "",
        voice_in_trunk=section.optional_string("voice_in_trunk") or "",
    )
    if not link.capacity_group and not link.voice_in_trunk:
        raise section.fail(
            "capacity_group", "a link needs a capacity_group, a voice_in_trunk or both"
        )
    return link
