"""What every target has, whatever its vendor: a name, a URL, and how to reach it.

A vendor's target settings (`exporter/vendors/*/config.py`) extend `TargetSettings` with the
vendor's own keys, and its `TargetSection` tells the loader how to read and describe them. The
common keys are read here, once for every vendor: `name`, `url`, `timeout`, `max_concurrency`,
`rate_limit`, `min_interval` and `tls`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from exporter.config.section import Section, format_duration, is_target_name

TLS_KEYS = ("ca_file", "insecure_skip_verify")
COMMON_KEYS = ("timeout", "max_concurrency", "rate_limit", "min_interval", "tls")
# Each collection runs one worker thread per request in flight; far past what any upstream
# accepts from one client, and a thousand threads per scrape is a typo, not a setting.
MAX_CONCURRENCY = 256


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    @property
    def verify(self) -> bool | str:
        """The value for `requests`' `verify=`."""
        if self.insecure_skip_verify:
            return False
        return self.ca_file or True


@dataclass(frozen=True, kw_only=True)
class TargetSettings:
    """The settings every target has; a vendor's target class adds its own and may change the
    defaults (DIDWW's URL, rate limit and concurrency)."""

    name: str
    url: str
    timeout: float = 10.0
    max_concurrency: int = 8
    rate_limit: float = 0.0
    min_interval: float = 0.0
    tls: TlsSettings = TlsSettings()


@dataclass(frozen=True)
class TargetSection:
    """How the loader reads one vendor's list of targets (`odin:`, `didww:`)."""

    key: str  # the top-level key of the config file, and the vendor's metric prefix
    title: str  # how summaries name the vendor: "Odin"
    target_type: type[TargetSettings]
    keys: tuple[str, ...]  # every key an entry may hold, in the order the docs list them
    nested_keys: dict[str, tuple[str, ...]]  # keys of the nested mappings (`tls`, `refresh`)
    parse: Callable[[Section], TargetSettings]
    describe: Callable[[Any], list[str]]  # the lines of `--config.check` after the headline


def target_name(section: Section) -> str:
    name = section.string("name")
    if not is_target_name(name):
        raise section.fail("name", "may use only letters, digits, _ . : - (and start with one)")
    return name


def common_settings(section: Section, defaults: type[TargetSettings]) -> dict[str, Any]:
    """The keys every target shares, with the vendor's defaults: name, URL (when the vendor has
    no default URL, it is required), timeout, concurrency, rate limit, cache, TLS."""
    default: dict[str, Any] = {field.name: field.default for field in fields(defaults)}
    default_url = default["url"]
    return {
        "name": target_name(section),
        "url": section.url("url", default_url if isinstance(default_url, str) else None),
        "timeout": section.duration("timeout", default["timeout"], positive=True),
        "max_concurrency": section.number(
            "max_concurrency",
            default["max_concurrency"],
            minimum=1,
            maximum=MAX_CONCURRENCY,
            integer=True,
        ),
        "rate_limit": float(section.number("rate_limit", default["rate_limit"], minimum=0)),
        "min_interval": section.duration("min_interval", 0.0, positive=False),
        "tls": _tls(section),
    }


def _tls(section: Section) -> TlsSettings:
    if not section.has("tls"):
        return TlsSettings()
    tls = section.sub_section("tls", TLS_KEYS)
    settings = TlsSettings(
        ca_file=tls.optional_string("ca_file"),
        insecure_skip_verify=tls.boolean("insecure_skip_verify", False),
    )
    if settings.ca_file and not Path(settings.ca_file).is_file():
        raise tls.fail("ca_file", "no such file")
    return settings


Intervals = TypeVar("Intervals")


def refresh_intervals(section: Section, defaults: Intervals, keys: tuple[str, ...]) -> Intervals:
    """`refresh:`: how long each kind of a vendor's data is kept (0s: read on every scrape),
    each key a field of the vendor's `defaults` dataclass."""
    if not section.has("refresh"):
        return defaults
    intervals = section.sub_section("refresh", keys)
    return replace(  # type: ignore[type-var]
        defaults,
        **{key: intervals.duration(key, getattr(defaults, key), positive=False) for key in keys},
    )


def transport_warning(target: TargetSettings) -> str | None:
    """Why this target's credentials are at risk on the way, if they are."""
    parts = urlsplit(target.url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        return "url is plain http://: its credentials cross the network unencrypted (use https://)"
    if target.tls.insecure_skip_verify:
        return "tls.insecure_skip_verify: anyone on the path can pose as the API"
    return None


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def transport_summary(target: TargetSettings) -> str:
    rate = f"{target.rate_limit:g}/s" if target.rate_limit else "unlimited"
    cache = format_duration(target.min_interval) if target.min_interval else "off"
    if urlsplit(target.url).scheme == "http":
        verify = "no TLS (plain http)"
    else:
        verify = "TLS verify off" if target.tls.insecure_skip_verify else "TLS verified"
    return (
        f"timeout {format_duration(target.timeout)}, max_concurrency {target.max_concurrency}, "
        f"rate_limit {rate}, min_interval {cache}, {verify}"
    )


def host(url: str) -> str:
    """Host and port only: a path can be long, and a summary has no use for it."""
    return urlsplit(url).netloc
