"""Load and validate the YAML configuration file.

Every problem is reported as one `ConfigError` line naming the entry and the key, e.g.
``odin[0] "odin-prod": timeout: invalid duration "ten" (use 10s, 500ms, 1m)``. Secrets are
wrapped in `Secret` at load time so that no repr, log line or error message can print them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exporter.yaml_file import describe_kind, parse_yaml, read_text

DIDWW_DEFAULT_URL = "https://api.didww.com/v3"
DIDWW_DEFAULT_API_VERSION = "2022-05-10"
# Before this version the voice-in trunks were /trunks and /trunk_groups. Older versions are
# refused rather than served from the old paths: the header can only upgrade an account's
# version, so an account on a newer version would answer the old paths 404.
DIDWW_OLDEST_API_VERSION = "2021-12-15"
# DIDWW documents 10 requests/s per key, shared with anything else using the key.
DIDWW_DEFAULT_RATE_LIMIT = 8.0
# Odin documents no limit, and serves the operator's provisioning staff too. 50/s is a third to a
# half of what 8 requests in flight at 50-100 ms would send, and still reads 500 trunk groups
# (one call each per scrape, with reports and lists kept by `refresh`) within 10 s.
ODIN_DEFAULT_RATE_LIMIT = 50.0

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class ConfigError(Exception):
    """A configuration problem, worded as the one line the operator will read."""


@dataclass(frozen=True)
class Secret:
    """A credential that never shows itself in repr, str or formatting."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def reveal(self) -> str:
        return self.value


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


@dataclass(frozen=True)
class RefreshIntervals:
    """How long each kind of Odin data is served before it is fetched again (0: every scrape).

    Capacity settings change a few times a month; live calls every second."""

    reports: float = 300.0
    trunk_group_lists: float = 900.0
    trunk_group_details: float = 0.0


@dataclass(frozen=True)
class OdinTarget:
    name: str
    url: str
    username: str
    password: Secret
    service_providers: tuple[str, ...] = ()
    discover: bool = False
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    reseller: str | None = None
    trunk_groups: bool = False
    timeout: float = 10.0
    max_concurrency: int = 8
    rate_limit: float = ODIN_DEFAULT_RATE_LIMIT
    min_interval: float = 0.0
    tls: TlsSettings = TlsSettings()
    refresh: RefreshIntervals = RefreshIntervals()

    def wants_service_provider(self, service_provider: str) -> bool:
        """Whether a discovered SP passes the include/exclude filters."""
        if self.include is not None and not self.include.fullmatch(service_provider):
            return False
        return self.exclude is None or not self.exclude.fullmatch(service_provider)


@dataclass(frozen=True)
class DidwwTarget:
    name: str
    api_key: Secret
    url: str = DIDWW_DEFAULT_URL
    api_version: str = DIDWW_DEFAULT_API_VERSION
    timeout: float = 10.0
    max_concurrency: int = 4
    rate_limit: float = DIDWW_DEFAULT_RATE_LIMIT
    min_interval: float = 0.0
    tls: TlsSettings = TlsSettings()


@dataclass(frozen=True)
class Config:
    odin: tuple[OdinTarget, ...] = ()
    didww: tuple[DidwwTarget, ...] = ()

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.odin) + tuple(t.name for t in self.didww)


def load_config(path: str | Path) -> Config:
    """Read, expand and validate a config file; raise `ConfigError` on any problem."""
    return parse_config(read_text(path, "config file", ConfigError), source=str(path))


def parse_config(text: str, source: str = "config") -> Config:
    document = parse_yaml(text, source, ConfigError)
    if document is None:
        document = {}
    document = _expand_environment(document, "")
    top = _Section(document, source)
    odin = tuple(_parse_odin(entry) for entry in top.entries("odin"))
    didww = tuple(_parse_didww(entry) for entry in top.entries("didww"))
    top.reject_unknown()
    config = Config(odin=odin, didww=didww)
    _check_unique_names(config)
    if not config.target_names:
        raise ConfigError(f"{source}: no targets: add an `odin:` or `didww:` entry")
    return config


def _expand_environment(node: Any, path: str) -> Any:
    """Replace ${VAR} in every string value; an unset variable is an error naming its key."""
    if isinstance(node, dict):
        return {key: _expand_environment(value, f"{path}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_expand_environment(value, f"{path}[{i}]") for i, value in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in os.environ:
                raise ConfigError(f"{path.lstrip('.')}: environment variable {variable} is not set")
            return os.environ[variable]

        return _ENV_REFERENCE.sub(substitute, node)
    return node


class _Section:
    """One mapping of the file, remembering which keys were read and where it sits."""

    def __init__(self, mapping: Any, where: str) -> None:
        if not isinstance(mapping, dict):
            raise ConfigError(f"{where}: expected a mapping, got {describe_kind(mapping)}")
        self.mapping = mapping
        self.where = where
        self._read: set[str] = set()

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {problem}")

    def raw(self, key: str) -> Any:
        self._read.add(key)
        return self.mapping.get(key)

    def has(self, key: str) -> bool:
        return self.mapping.get(key) is not None

    def entries(self, key: str) -> Iterator[_Section]:
        value = self.raw(key)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of targets, got {describe_kind(value)}")
        for index, item in enumerate(value):
            label = item.get("name") if isinstance(item, dict) else None
            named = f' "{label}"' if isinstance(label, str) else ""
            yield _Section(item, f"{key}[{index}]{named}")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key)
        if value is None:
            if default is None:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {describe_kind(value)}")
        return value

    def optional_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {describe_kind(value)}")
        return value

    def number(self, key: str, default: float, *, minimum: float, integer: bool = False) -> Any:
        value = self.raw(key)
        if value is None:
            return default
        wanted = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            kind = "an integer" if integer else "a number"
            raise self.fail(key, f"expected {kind}, got {describe_kind(value)}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum:g}, got {value}")
        return value

    def duration(self, key: str, default: float, *, positive: bool) -> float:
        value = self.raw(key)
        if value is None:
            return default
        seconds = parse_duration(value)
        if seconds is None:
            raise self.fail(key, f"invalid duration {value!r} (use 10s, 500ms, 1m)")
        if positive and seconds <= 0:
            raise self.fail(key, "must be greater than zero")
        return seconds

    def url(self, key: str, default: str | None = None) -> str:
        value = self.string(key, default)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(key, f"invalid URL {value!r} (expected http:// or https://host/...)")
        if parts.query or parts.fragment:
            raise self.fail(key, "URL must not carry a query or fragment")
        return value.rstrip("/")

    def pattern(self, key: str) -> re.Pattern[str] | None:
        value = self.optional_string(key)
        if value is None:
            return None
        try:
            return re.compile(value)
        except re.error as error:
            raise self.fail(key, f"invalid regular expression: {error}") from None

    def secret(self, key: str) -> Secret:
        """`key` inline (usually `${ENV}`) or `key_file`, exactly one of them."""
        file_key = f"{key}_file"
        inline, path = self.raw(key), self.raw(file_key)
        if inline is not None and path is not None:
            raise self.fail(key, f"set either {key} or {file_key}, not both")
        if path is not None:
            return Secret(self._read_secret_file(file_key))
        if inline is None:
            raise self.fail(key, f"is required (set {key} or {file_key})")
        if not isinstance(inline, str) or not inline:
            raise self.fail(key, "expected a non-empty string")
        return Secret(inline)

    def _read_secret_file(self, file_key: str) -> str:
        path = self.string(file_key)
        try:
            content = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise self.fail(file_key, f"cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise self.fail(file_key, f"{path} is not UTF-8 text") from None
        if not content:
            raise self.fail(file_key, f"{path} is empty")
        return content

    def tls(self) -> TlsSettings:
        if not self.has("tls"):
            self.raw("tls")
            return TlsSettings()
        section = _Section(self.raw("tls"), f"{self.where}: tls")
        settings = TlsSettings(
            ca_file=section.optional_string("ca_file"),
            insecure_skip_verify=section.boolean("insecure_skip_verify", False),
        )
        if settings.ca_file and not Path(settings.ca_file).is_file():
            raise section.fail("ca_file", f"{settings.ca_file} does not exist")
        section.reject_unknown()
        return settings

    def reject_unknown(self) -> None:
        unknown = sorted(str(key) for key in self.mapping if key not in self._read)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key {unknown[0]!r}")


def parse_duration(value: Any) -> float | None:
    """Seconds from `10s`, `500ms`, `1m30s` or a bare number of seconds; None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _common_settings(
    section: _Section, defaults: type[OdinTarget] | type[DidwwTarget]
) -> dict[str, Any]:
    """The transport keys every target shares: timeout, concurrency, rate limit, cache, TLS."""
    return {
        "timeout": section.duration("timeout", defaults.timeout, positive=True),
        "max_concurrency": section.number(
            "max_concurrency", defaults.max_concurrency, minimum=1, integer=True
        ),
        "rate_limit": float(section.number("rate_limit", defaults.rate_limit, minimum=0)),
        "min_interval": section.duration("min_interval", 0.0, positive=False),
        "tls": section.tls(),
    }


def _target_name(section: _Section) -> str:
    name = section.string("name")
    if not _TARGET_NAME.match(name):
        raise section.fail("name", f"{name!r} may use only letters, digits, _ . : -")
    return name


def _parse_odin(section: _Section) -> OdinTarget:
    name = _target_name(section)
    url = section.url("url")
    username = section.string("username")
    password = section.secret("password")
    service_providers = _string_list(section, "service_providers")
    discover = section.boolean("discover", False)
    if discover == bool(service_providers):
        raise section.fail(
            "service_providers", "give a list of service providers or set discover: true"
        )
    filters = {key: section.raw(key) for key in ("include", "exclude", "reseller")}
    if not discover and any(value is not None for value in filters.values()):
        key = next(key for key, value in filters.items() if value is not None)
        raise section.fail(key, "applies only with discover: true")
    target = OdinTarget(
        name=name,
        url=url,
        username=username,
        password=password,
        service_providers=service_providers,
        discover=discover,
        include=section.pattern("include"),
        exclude=section.pattern("exclude"),
        reseller=section.optional_string("reseller"),
        trunk_groups=section.boolean("trunk_groups", False),
        **_common_settings(section, OdinTarget),
    )
    section.reject_unknown()
    return target


def _parse_didww(section: _Section) -> DidwwTarget:
    target = DidwwTarget(
        name=_target_name(section),
        url=section.url("url", DIDWW_DEFAULT_URL),
        api_key=section.secret("api_key"),
        api_version=_api_version(section),
        **_common_settings(section, DidwwTarget),
    )
    section.reject_unknown()
    return target


def _api_version(section: _Section) -> str:
    value = section.raw("api_version")
    if value is None:
        return DIDWW_DEFAULT_API_VERSION
    # An unquoted YAML date (2022-05-10) arrives as a datetime.date.
    text = value.isoformat() if hasattr(value, "isoformat") else value
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise section.fail("api_version", f"expected a date such as 2022-05-10, got {value!r}")
    if text < DIDWW_OLDEST_API_VERSION:
        raise section.fail(
            "api_version",
            f"{text} is older than {DIDWW_OLDEST_API_VERSION}, the first version with "
            "/voice_in_trunks; set it to that or later (the header only upgrades the version "
            "of the exporter's own requests)",
        )
    return text


def _string_list(section: _Section, key: str) -> tuple[str, ...]:
    value = section.raw(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise section.fail(key, "expected a list of non-empty strings")
    if len(set(value)) != len(value):
        duplicate = next(v for v in value if value.count(v) > 1)
        raise section.fail(key, f"{duplicate!r} is listed twice")
    return tuple(value)


def _check_unique_names(config: Config) -> None:
    seen: set[str] = set()
    named: list[tuple[str, int, str]] = [
        *(("odin", index, target.name) for index, target in enumerate(config.odin)),
        *(("didww", index, target.name) for index, target in enumerate(config.didww)),
    ]
    for kind, index, name in named:
        if name in seen:
            raise ConfigError(
                f'{kind}[{index}] "{name}": name: duplicate target name '
                "(names must be unique across the file)"
            )
        seen.add(name)
