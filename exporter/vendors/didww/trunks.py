"""An account's trunks from the pages one collection read, and what is wrong with them.

Trunk groups come from /voice_in_trunk_groups and from the groups /voice_in_trunks includes,
listing first, so a trunk's group resolves even when the group listing failed. Every record is
parsed once per id. A record that does not parse, a trunk linked to a group that is nowhere to
be found, and a name that would give two samples the same labels are problems: the collection
reports each as an `invalid_response` error, since part of the account's data is then missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from exporter.core.payload import InvalidPayload
from exporter.vendors.didww.client import VOICE_IN_TRUNK_GROUPS, VOICE_IN_TRUNKS, VOICE_OUT_TRUNKS
from exporter.vendors.didww.models import (
    DidwwTrunks,
    Page,
    Resource,
    VoiceInTrunk,
    VoiceInTrunkGroup,
    VoiceOutTrunk,
    parse_voice_in_trunk,
    parse_voice_in_trunk_group,
    parse_voice_out_trunk,
)

Parsed = TypeVar("Parsed", VoiceInTrunk, VoiceInTrunkGroup, VoiceOutTrunk)


@dataclass(frozen=True, slots=True)
class TrunkPages:
    """The pages read, in page order; outbound_enabled as in DidwwTrunks."""

    voice_in_trunks: Sequence[Page] = ()
    voice_in_trunk_groups: Sequence[Page] = ()
    voice_out_trunks: Sequence[Page] = ()
    outbound_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    endpoint: str
    detail: str


def build_trunks(pages: TrunkPages) -> tuple[DidwwTrunks, list[Problem]]:
    problems: list[Problem] = []
    group_resources = [r for page in pages.voice_in_trunk_groups for r in page.data]
    group_resources += [
        r
        for page in pages.voice_in_trunks
        for r in page.included
        if r.type == "voice_in_trunk_groups"
    ]
    trunks = DidwwTrunks(
        voice_in_trunks=_parse_each(
            VOICE_IN_TRUNKS, _data(pages.voice_in_trunks), parse_voice_in_trunk, problems
        ),
        voice_in_trunk_groups=_parse_each(
            VOICE_IN_TRUNK_GROUPS, group_resources, parse_voice_in_trunk_group, problems
        ),
        voice_out_trunks=_parse_each(
            VOICE_OUT_TRUNKS, _data(pages.voice_out_trunks), parse_voice_out_trunk, problems
        ),
        outbound_enabled=pages.outbound_enabled,
    )
    problems += _unlinked(trunks)
    problems += _repeated_labels(trunks)
    return trunks, problems


def _data(pages: Sequence[Page]) -> list[Resource]:
    return [resource for page in pages for resource in page.data]


def _parse_each(
    endpoint: str,
    resources: Iterable[Resource],
    parser: Callable[[Resource], Parsed],
    problems: list[Problem],
) -> tuple[Parsed, ...]:
    """Each resource parsed once per id (pages may overlap); the unparsable are problems."""
    parsed: list[Parsed] = []
    seen: set[str] = set()
    for resource in resources:
        if resource.id in seen:
            continue
        seen.add(resource.id)
        try:
            parsed.append(parser(resource))
        except InvalidPayload as error:
            problems.append(Problem(endpoint, str(error)))
    return tuple(parsed)


def _unlinked(trunks: DidwwTrunks) -> list[Problem]:
    known = {group.group_id for group in trunks.voice_in_trunk_groups}
    return [
        Problem(
            VOICE_IN_TRUNKS,
            f"voice_in_trunks {trunk.trunk_id} links to trunk group {trunk.group_id}, which is "
            "neither listed nor included",
        )
        for trunk in trunks.voice_in_trunks
        if trunk.group_id is not None and trunk.group_id not in known
    ]


def _repeated_labels(trunks: DidwwTrunks) -> list[Problem]:
    """Names are labels: a repeat (within one group, for voice-in trunks) hides a record."""
    group_names = {group.group_id: group.name for group in trunks.voice_in_trunk_groups}
    keyed: list[tuple[str, tuple[str, ...]]] = [
        (VOICE_IN_TRUNKS, (trunk.name, group_names.get(trunk.group_id or "", "")))
        for trunk in trunks.voice_in_trunks
    ]
    keyed += [(VOICE_IN_TRUNK_GROUPS, (group.name,)) for group in trunks.voice_in_trunk_groups]
    keyed += [(VOICE_OUT_TRUNKS, (trunk.name,)) for trunk in trunks.voice_out_trunks]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    problems = []
    for endpoint, key in keyed:
        if (endpoint, key) in seen:
            problems.append(Problem(endpoint, f"name {key[0][:60]!r} is used twice"))
        seen.add((endpoint, key))
    return problems
