"""The capacity chain: which DIDWW capacity feeds which Odin service provider or trunk group.

Links come from the config (`links:`), not from an upstream; they are exposed so that
recording rules can join the carrier side onto the BroadWorks side (deploy/mixin,
docs/alerting.md). Each side of a link is checked against what its target's last collection
served: a name that does not exist there (`Main Office` for `Main office`) would leave the
chain's rules empty and its alerts silent, so it is a 0 of `trunk_capacity_link_resolved`. The
chain is the one place besides the registry and the demo that names both vendors. Example::

    trunk_capacity_link_info{capacity_group="Main office",didww_target="didww",
      service_provider="ent.acme",target="odin-prod",trunk_group="acme-hq-pbx",
      voice_in_trunk="Main SIP trunk"} 1.0
    trunk_capacity_link_resolved{capacity_group="Main office",didww_target="didww",
      service_provider="ent.acme",side="didww",target="odin-prod",trunk_group="acme-hq-pbx",
      voice_in_trunk="Main SIP trunk"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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


LINK_RESOLVED = Family(
    "trunk_capacity_link_resolved",
    "1 when every object a configured link names on one side exists in that side's target "
    '(side="odin": its service provider and trunk group; side="didww": its capacity group and '
    "voice-in trunk), 0 when one does not; absent until that target's lists have been read. "
    "Exposed with the scrape of that side's target.",
    (*LINK_LABELS, "side"),
)
Names = Mapping[str, frozenset[tuple[str, ...]]]  # a snapshot's `names`


@dataclass(frozen=True)
class LinkCheck:
    """One side of a link, checked against the last collection of its target."""

    link: Link
    side: str  # "odin" or "didww"
    missing: tuple[str, ...]  # the keys whose object does not exist: () when resolved


def links_touching(links: Sequence[Link], target: str | None) -> list[Link]:
    """The links with a side on `target` (None: every target)."""
    return [link for link in links if target in (None, link.odin_target, link.didww_target)]


def check_links(links: Iterable[Link], names_by_target: Mapping[str, Names]) -> list[LinkCheck]:
    """Each side of each link whose target was collected and whose lists are complete."""
    checks = []
    for link in links:
        for side, target, wanted in _sides(link):
            names = names_by_target.get(target)
            if names is None or any(label not in names for label, _key in wanted):
                continue
            missing = tuple(label for label, key in wanted if key not in names[label])
            checks.append(LinkCheck(link, side, missing))
    return checks


def _sides(link: Link) -> Iterator[tuple[str, str, list[tuple[str, tuple[str, ...]]]]]:
    odin: list[tuple[str, tuple[str, ...]]] = [("service_provider", (link.service_provider,))]
    if link.trunk_group:
        odin.append(("trunk_group", (link.service_provider, link.trunk_group)))
    yield "odin", link.odin_target, odin
    didww: list[tuple[str, tuple[str, ...]]] = [
        (label, (name,))
        for label, name in (
            ("capacity_group", link.capacity_group),
            ("voice_in_trunk", link.voice_in_trunk),
        )
        if name
    ]
    yield "didww", link.didww_target, didww


def describe_check(check: LinkCheck) -> str:
    """The missing names of an unresolved side, as the log and the status page say them."""
    link = check.link
    values = {
        "service_provider": link.service_provider,
        "trunk_group": link.trunk_group,
        "capacity_group": link.capacity_group,
        "voice_in_trunk": link.voice_in_trunk,
    }
    target = link.odin_target if check.side == "odin" else link.didww_target
    missing = ", ".join(f"{key} {values[key]!r}" for key in check.missing)
    return f"{target} has no {missing}"


def links_of(links: Sequence[Link], target: str | None) -> list[Link]:
    """The links a scrape of `target` (None: every target) exposes: those of its Odin side."""
    return [link for link in links if target in (None, link.odin_target)]


def link_lines(links: Iterable[Link], checks: Iterable[LinkCheck] = ()) -> dict[str, bytes]:
    writer = PartWriter({})
    for link in links:
        writer.add(LINK_INFO, _labels(link), 1.0)
    for check in checks:
        writer.add(
            LINK_RESOLVED, {**_labels(check.link), "side": check.side}, float(not check.missing)
        )
    return writer.rendered()


def _labels(link: Link) -> dict[str, str]:
    return {
        "target": link.odin_target,
        "service_provider": link.service_provider,
        "trunk_group": link.trunk_group,
        "didww_target": link.didww_target,
        "capacity_group": link.capacity_group,
        "voice_in_trunk": link.voice_in_trunk,
    }


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
