"""The `didww:` entries of the config file: a DIDWW account, reached by its API key."""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.config.section import Secret, Section, every
from exporter.config.target import (
    COMMON_KEYS,
    TLS_KEYS,
    TargetSection,
    TargetSettings,
    common_settings,
    refresh_intervals,
    transport_summary,
)

DIDWW_DEFAULT_URL = "https://api.didww.com/v3"
DIDWW_DEFAULT_API_VERSION = "2022-05-10"
# Before this version the voice-in trunks were /trunks and /trunk_groups. Older versions are
# refused rather than served from the old paths: the header can only upgrade an account's
# version, so an account on a newer version would answer the old paths 404.
DIDWW_OLDEST_API_VERSION = "2021-12-15"
# DIDWW documents 10 requests/s per key, shared with anything else using the key.
DIDWW_DEFAULT_RATE_LIMIT = 8.0
DIDWW_KEYS = (
    "name",
    "url",
    "api_key",
    "api_key_file",
    "api_version",
    "refresh",
    *COMMON_KEYS,
)
REFRESH_KEYS = ("balance", "pools", "groups", "trunks", "did_counts")


@dataclass(frozen=True)
class DidwwRefresh:
    """How long each kind of DIDWW data is served before it is read again (0: every scrape).

    The balance moves with every call, so it is read on every scrape (one request). Pools,
    groups and trunks are provisioning data: a few reads every few minutes. DID counts are one
    request per group, so they are read rarely and in turns (BENCHMARKS.md: a 500-group account
    costs under two requests per scrape with these defaults, against a key limit of 10/s)."""

    balance: float = 0.0
    pools: float = 300.0
    groups: float = 300.0
    trunks: float = 300.0
    did_counts: float = 3600.0


@dataclass(frozen=True, kw_only=True)
class DidwwTarget(TargetSettings):
    api_key: Secret
    url: str = DIDWW_DEFAULT_URL
    api_version: str = DIDWW_DEFAULT_API_VERSION
    max_concurrency: int = 4
    rate_limit: float = DIDWW_DEFAULT_RATE_LIMIT
    refresh: DidwwRefresh = DidwwRefresh()


def parse_didww(section: Section) -> DidwwTarget:
    common = common_settings(section, DidwwTarget)
    return DidwwTarget(
        **common,
        api_key=section.secret("api_key", header=True),
        api_version=_api_version(section),
        refresh=refresh_intervals(section, DidwwRefresh(), REFRESH_KEYS),
    )


def _api_version(section: Section) -> str:
    value = section.raw("api_version")
    if value is None:
        return DIDWW_DEFAULT_API_VERSION
    # An unquoted YAML date (2022-05-10) arrives as a datetime.date.
    text = value.isoformat() if hasattr(value, "isoformat") else value
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise section.fail("api_version", "expected a date such as 2022-05-10")
    if text < DIDWW_OLDEST_API_VERSION:
        raise section.fail(
            "api_version",
            f"older than {DIDWW_OLDEST_API_VERSION}, the first version with /voice_in_trunks; "
            "set it to that or later (the header only upgrades the version of the exporter's "
            "own requests)",
        )
    return text


def describe_didww(didww: DidwwTarget) -> list[str]:
    refresh = ", ".join(
        f"{key.replace('_', ' ')} {every(getattr(didww.refresh, key))}" for key in REFRESH_KEYS
    )
    return [f"API {didww.api_version}", transport_summary(didww), f"refresh {refresh}"]


SECTION = TargetSection(
    key="didww",
    title="DIDWW",
    target_type=DidwwTarget,
    keys=DIDWW_KEYS,
    nested_keys={"tls": TLS_KEYS, "refresh": REFRESH_KEYS},
    parse=parse_didww,
    describe=describe_didww,
)
