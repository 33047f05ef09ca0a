"""Reading the config file's targets, vendor by vendor, from the sections the registry names.

The loader knows no vendor: it is handed each vendor's `TargetSection` (its top-level key, its
keys and its parser) and reads every list in turn. Every entry of every list is checked for
unknown keys before any is parsed: a misspelt key explains most other errors ("password is
required" after `pasword:`), so it is reported first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from exporter.config.section import ConfigError, Section
from exporter.config.target import TargetSection, TargetSettings, host
from exporter.config.yaml_file import YamlMapping, parse_yaml, read_text


def read_config_text(path: str | Path) -> str:
    return read_text(path, "config file", ConfigError)


def top_section(text: str, source: str, keys: tuple[str, ...]) -> Section:
    """The file's top-level mapping, its keys checked."""
    document = parse_yaml(text, source, ConfigError)
    return Section(YamlMapping(1) if document is None else document, source, "", keys, 1)


def entries_of(
    top: Section, sections: Sequence[TargetSection]
) -> list[tuple[TargetSection, list[Section]]]:
    """Every vendor's entries, all checked for unknown keys before any is parsed."""
    return [(kind, top.entries(kind.key, kind.keys, kind.nested_keys)) for kind in sections]


def parse_targets(
    entries: list[tuple[TargetSection, list[Section]]], source: str
) -> tuple[TargetSettings, ...]:
    """Each vendor's targets in the order of `sections`; names unique across the file."""
    parsed = [
        (entry, kind.parse(entry)) for kind, kind_entries in entries for entry in kind_entries
    ]
    seen: set[str] = set()
    for entry, target in parsed:
        if target.name in seen:
            raise entry.fail(
                "name", "another target has this name (names must be unique across the file)"
            )
        seen.add(target.name)
    if not parsed:
        keys = " or ".join(f"`{kind.key}:`" for kind, _ in entries)
        raise ConfigError(f"{source}: no targets: add an {keys} entry")
    return tuple(target for _, target in parsed)


def describe_targets(targets: Sequence[TargetSettings], sections: Sequence[TargetSection]) -> str:
    """What a config holds, on one screen: a headline, then a few lines per target. No secrets."""
    by_kind = [
        (kind, [target for target in targets if isinstance(target, kind.target_type)])
        for kind in sections
    ]
    count = len(targets)
    kinds = ", ".join(f"{len(of_kind)} {kind.title}" for kind, of_kind in by_kind)
    lines = [f"{count} target{'s' if count != 1 else ''} ({kinds})"]
    for kind, of_kind in by_kind:
        for target in of_kind:
            first, *rest = kind.describe(target)
            lines.append(f"  {target.name}: {kind.title} at {host(target.url)}, {first}")
            lines.extend(f"    {line}" for line in rest)
    return "\n".join(lines)
