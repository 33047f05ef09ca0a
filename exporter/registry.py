"""Every upstream API the exporter reads, in exposition order, and the config file they make up.

Adding a vendor is its package under `exporter/vendors/` and one entry in `VENDORS`: the config
loader, `--config.check`, the scrape, `/probe` and the landing page all work from this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exporter import chain
from exporter.config.loader import (
    describe_targets,
    entries_of,
    parse_targets,
    read_config_text,
    top_section,
)
from exporter.config.target import TargetSettings, transport_warning
from exporter.core.vendor import Vendor
from exporter.vendors import didww, odin

VENDORS: tuple[Vendor, ...] = (odin.VENDOR, didww.VENDOR)


@dataclass(frozen=True)
class Config:
    """The targets of every vendor (in the order of `VENDORS`) and the capacity chain."""

    targets: tuple[TargetSettings, ...] = ()
    links: tuple[chain.Link, ...] = ()

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(target.name for target in self.targets)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is valid but unsafe, one line per target: said by --config.check, at start-up
        and on every reload."""
        return tuple(
            f'target "{target.name}": {warning}'
            for target in self.targets
            if (warning := transport_warning(target))
        )


def vendor_of(target: TargetSettings) -> Vendor:
    """The registered vendor whose settings `target` is."""
    for vendor in VENDORS:
        if isinstance(target, vendor.section.target_type):
            return vendor
    raise LookupError(f"no registered vendor reads {type(target).__name__}")


def load_config(path: str | Path) -> Config:
    """Read, expand and validate a config file; raise `ConfigError` on any problem."""
    return parse_config(read_config_text(path), source=str(path))


def parse_config(text: str, source: str = "config") -> Config:
    sections = [vendor.section for vendor in VENDORS]
    top = top_section(text, source, (*(section.key for section in sections), "links"))
    entries = entries_of(top, sections)
    link_entries = top.entries("links", chain.LINK_KEYS)
    targets = parse_targets(entries, source)
    return Config(targets, chain.parse_links(link_entries, targets))


def describe_config(config: Config) -> str:
    """What a config holds, on one screen: a headline, then a few lines per target. No secrets."""
    return describe_targets(config.targets, [vendor.section for vendor in VENDORS])
