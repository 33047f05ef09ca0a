"""The `odin:` entries of the config file: an Odin API endpoint and the SPs to read there."""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.config.section import Secret, Section, every, string_list
from exporter.config.target import (
    COMMON_KEYS,
    TLS_KEYS,
    TargetSection,
    TargetSettings,
    common_settings,
    refresh_intervals,
    transport_summary,
)

# Odin documents no limit, and serves the operator's provisioning staff too. 50/s is a third to a
# half of what 8 requests in flight at 50-100 ms would send, and still reads 500 trunk groups
# (one call each per scrape, with reports and lists kept by `refresh`) within 10 s.
ODIN_DEFAULT_RATE_LIMIT = 50.0
REFRESH_KEYS = ("reports", "trunk_group_lists", "trunk_group_details")
ODIN_KEYS = (
    "name",
    "url",
    "username",
    "password",
    "password_file",
    "service_providers",
    "discover",
    "include",
    "exclude",
    "reseller",
    "trunk_groups",
    "refresh",
    *COMMON_KEYS,
)
_LISTED_SERVICE_PROVIDERS = 5


@dataclass(frozen=True)
class RefreshIntervals:
    """How long each kind of Odin data is served before it is read again (0: every scrape).

    Capacity settings change a few times a month; live calls every second, so a hot trunk group
    (near its limit, or climbing fast) is read on every scrape whatever this says, and the
    others in turns so that none is older than `trunk_group_details` (BENCHMARKS.md: 2,500
    trunk groups fit in a 50/s budget with room to spare at 2m)."""

    reports: float = 300.0
    trunk_group_lists: float = 900.0
    trunk_group_details: float = 120.0


@dataclass(frozen=True, kw_only=True)
class OdinTarget(TargetSettings):
    username: str
    password: Secret
    service_providers: tuple[str, ...] = ()
    discover: bool = False
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    reseller: str | None = None
    trunk_groups: bool = True
    rate_limit: float = ODIN_DEFAULT_RATE_LIMIT
    refresh: RefreshIntervals = RefreshIntervals()

    def wants_service_provider(self, service_provider: str) -> bool:
        """Whether a discovered SP passes the include/exclude filters."""
        if self.include is not None and not self.include.fullmatch(service_provider):
            return False
        return self.exclude is None or not self.exclude.fullmatch(service_provider)


def parse_odin(section: Section) -> OdinTarget:
    common = common_settings(section, OdinTarget)
    username = section.string("username")
    password = section.secret("password")
    service_providers, discover = _service_provider_choice(section)
    return OdinTarget(
        **common,
        username=username,
        password=password,
        service_providers=service_providers,
        discover=discover,
        include=section.pattern("include"),
        exclude=section.pattern("exclude"),
        reseller=section.optional_string("reseller"),
        trunk_groups=section.boolean("trunk_groups", True),
        refresh=refresh_intervals(section, RefreshIntervals(), REFRESH_KEYS),
    )


def _service_provider_choice(section: Section) -> tuple[tuple[str, ...], bool]:
    """`service_providers` or `discover: true` (with its filters), exactly one of them."""
    service_providers = string_list(section, "service_providers")
    discover = section.boolean("discover", False)
    if discover and section.has("service_providers"):
        raise section.fail(
            "discover",
            "set either service_providers or discover: true, not both "
            "(use include/exclude to narrow discovery)",
        )
    if not discover and not service_providers:
        raise section.fail(
            "service_providers", "is required: list the service providers, or set discover: true"
        )
    if not discover:
        for key in ("include", "exclude", "reseller"):
            if section.has(key):
                raise section.fail(key, "applies only with discover: true")
    return service_providers, discover


def describe_odin(odin: OdinTarget) -> list[str]:
    trunk_groups = "trunk groups on" if odin.trunk_groups else "trunk groups off"
    return [
        _service_provider_summary(odin),
        f"{trunk_groups}, {transport_summary(odin)}",
        f"refresh {_refresh_summary(odin.refresh, odin.trunk_groups)}",
    ]


def _service_provider_summary(odin: OdinTarget) -> str:
    if odin.discover:
        filters = [
            f"{name} {value}"
            for name, value in (
                ("include", odin.include.pattern if odin.include else None),
                ("exclude", odin.exclude.pattern if odin.exclude else None),
                ("reseller", odin.reseller),
            )
            if value is not None
        ]
        return "discovers service providers" + (f" ({', '.join(filters)})" if filters else "")
    shown = ", ".join(odin.service_providers[:_LISTED_SERVICE_PROVIDERS])
    more = len(odin.service_providers) - _LISTED_SERVICE_PROVIDERS
    count = len(odin.service_providers)
    listed = f"{shown} and {more} more" if more > 0 else shown
    return f"{count} service provider{'s' if count != 1 else ''} ({listed})"


def _refresh_summary(refresh: RefreshIntervals, trunk_groups: bool) -> str:
    summary = f"reports {every(refresh.reports)}"
    if trunk_groups:
        summary += (
            f", trunk-group lists {every(refresh.trunk_group_lists)}, "
            f"details {every(refresh.trunk_group_details)} (hot ones every scrape)"
        )
    return summary


SECTION = TargetSection(
    key="odin",
    title="Odin",
    target_type=OdinTarget,
    keys=ODIN_KEYS,
    nested_keys={"tls": TLS_KEYS, "refresh": REFRESH_KEYS},
    parse=parse_odin,
    describe=describe_odin,
)
