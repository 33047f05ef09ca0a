"""The `fakecarrier:` entries of the config file: one account, reached with a bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.config.section import Secret, Section
from exporter.config.target import (
    COMMON_KEYS,
    TLS_KEYS,
    TargetSection,
    TargetSettings,
    common_settings,
    transport_summary,
)

FAKECARRIER_KEYS = ("name", "url", "token", "token_file", *COMMON_KEYS)


@dataclass(frozen=True, kw_only=True)
class FakeCarrierTarget(TargetSettings):
    token: Secret
    rate_limit: float = 5.0


def parse_fakecarrier(section: Section) -> FakeCarrierTarget:
    common = common_settings(section, FakeCarrierTarget)
    return FakeCarrierTarget(**common, token=section.secret("token"))


def describe_fakecarrier(target: FakeCarrierTarget) -> list[str]:
    return ["one account", transport_summary(target)]


SECTION = TargetSection(
    key="fakecarrier",
    title="FakeCarrier",
    target_type=FakeCarrierTarget,
    keys=FAKECARRIER_KEYS,
    nested_keys={"tls": TLS_KEYS},
    parse=parse_fakecarrier,
    describe=describe_fakecarrier,
)
