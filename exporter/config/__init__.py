"""Load and validate the YAML configuration file.

Every problem is reported as one `ConfigError` line naming the file, the line, the entry and the
key, but never the value, e.g. ``config.yml: line 7: odin[0] "odin-prod": timeout: not a
duration (use 10s, 500ms, 1m30s or a number of seconds)``. An unknown key is reported before
anything else, with the closest known key. Secrets are wrapped in `Secret` at load time so that
no repr, log line or error message can print them; one with a control character is refused.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exporter.config.yaml_file import YamlMapping, describe_kind, line_of, parse_yaml, read_text

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
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MAX_SECRET_BYTES = 64 * 1024
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
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
class Link:
    """A DIDWW shared capacity group and/or voice-in trunk that feeds an Odin service provider
    or trunk group: the two capacities in series on the way to a PBX."""

    odin_target: str
    service_provider: str
    didww_target: str
    trunk_group: str = ""  # "": the whole service provider
    capacity_group: str = ""
    voice_in_trunk: str = ""


@dataclass(frozen=True)
class Config:
    odin: tuple[OdinTarget, ...] = ()
    didww: tuple[DidwwTarget, ...] = ()
    links: tuple[Link, ...] = ()

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.odin) + tuple(t.name for t in self.didww)


# Every key each part of the file may hold, in the order the docs list them. An unknown key is
# reported before anything else, against these lists (tests/test_docs.py checks the docs).
TOP_KEYS = ("odin", "didww", "links")
LINK_KEYS = (
    "odin_target",
    "service_provider",
    "trunk_group",
    "didww_target",
    "capacity_group",
    "voice_in_trunk",
)
# Each collection runs one worker thread per request in flight; far past what any upstream
# accepts from one client, and a thousand threads per scrape is a typo, not a setting.
MAX_CONCURRENCY = 256
_COMMON_KEYS = ("timeout", "max_concurrency", "rate_limit", "min_interval", "tls")
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
    *_COMMON_KEYS,
)
DIDWW_KEYS = ("name", "url", "api_key", "api_key_file", "api_version", *_COMMON_KEYS)
TLS_KEYS = ("ca_file", "insecure_skip_verify")
REFRESH_KEYS = ("reports", "trunk_group_lists", "trunk_group_details")
NESTED_KEYS = {"tls": TLS_KEYS, "refresh": REFRESH_KEYS}
DURATION_HINT = "use 10s, 500ms, 1m30s or a number of seconds"


def load_config(path: str | Path) -> Config:
    """Read, expand and validate a config file; raise `ConfigError` on any problem."""
    return parse_config(read_text(path, "config file", ConfigError), source=str(path))


def parse_config(text: str, source: str = "config") -> Config:
    document = parse_yaml(text, source, ConfigError)
    top = _Section(YamlMapping(1) if document is None else document, source, "", TOP_KEYS, 1)
    # Every entry is checked for unknown keys before any is parsed: a misspelt key explains
    # most other errors ("password is required" after `pasword:`), so it is reported first.
    odin_entries = top.entries("odin", ODIN_KEYS)
    didww_entries = top.entries("didww", DIDWW_KEYS)
    link_entries = top.entries("links", LINK_KEYS)
    odin = [(entry, _parse_odin(entry)) for entry in odin_entries]
    didww = [(entry, _parse_didww(entry)) for entry in didww_entries]
    _check_unique_names([*odin, *didww])
    odin_targets = {target.name: target for _, target in odin}
    didww_names = {target.name for _, target in didww}
    config = Config(
        odin=tuple(target for _, target in odin),
        didww=tuple(target for _, target in didww),
        links=tuple(_parse_link(entry, odin_targets, didww_names) for entry in link_entries),
    )
    if not config.target_names:
        raise ConfigError(f"{source}: no targets: add an `odin:` or `didww:` entry")
    return config


class _Section:
    """One mapping of the file: its known keys, where it sits, and how its errors read.

    Errors read `<file>: line <n>: <entry>: <key>: <problem>` and never quote a value: the
    value may be a secret, or a secret typed into the wrong key.
    """

    def __init__(
        self, mapping: Any, source: str, where: str, known: tuple[str, ...], line: int | None
    ) -> None:
        self.source = source
        self.where = where
        if not isinstance(mapping, dict):
            raise self._error(line, f"expected a mapping, got {describe_kind(mapping)}")
        self.mapping = mapping
        self._reject_unknown(known)
        for key, nested in NESTED_KEYS.items():
            if key in known and isinstance(mapping.get(key), dict):
                self.sub_section(key, nested)

    def line(self, key: str | None = None) -> int | None:
        return line_of(self.mapping, key)

    def _error(self, line: int | None, problem: str) -> ConfigError:
        parts = [self.source, f"line {line}" if line else "", self.where, problem]
        return ConfigError(": ".join(part for part in parts if part))

    def fail(self, key: str, problem: str) -> ConfigError:
        """The error for `key` (its line, or the entry's line when the key is absent)."""
        return self._error(self.line(key), f"{key}: {problem}")

    def _reject_unknown(self, known: tuple[str, ...]) -> None:
        for key in self.mapping:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "see docs/configuration.md"
            raise self._error(self.line(key), f"unknown key {str(key)!r} ({hint})")

    def raw(self, key: str) -> Any:
        """The value of `key` with ${VAR} replaced from the environment; None when absent."""
        return _expand(self.mapping.get(key), lambda problem: self.fail(key, problem))

    def has(self, key: str) -> bool:
        return self.mapping.get(key) is not None

    def entries(self, key: str, known: tuple[str, ...]) -> list[_Section]:
        """The list under `key`, each item checked for unknown keys before any is parsed."""
        value = self.mapping.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of targets, got {describe_kind(value)}")
        return [
            _Section(
                item, self.source, _entry_label(key, index, item), known, line_of(value, index)
            )
            for index, item in enumerate(value)
        ]

    def sub_section(self, key: str, known: tuple[str, ...]) -> _Section:
        where = f"{self.where}: {key}" if self.where else key
        return _Section(self.mapping.get(key), self.source, where, known, self.line(key))

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key)
        if value is None:
            if default is None:
                raise self.fail(key, "is required")
            return default
        return self._text(key, value)

    def _text(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {describe_kind(value)}")
        self.refuse_control_characters(key, value)
        if not value.strip():
            raise self.fail(key, "is empty")
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

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float,
        maximum: float = math.inf,
        integer: bool = False,
    ) -> Any:
        value = self.raw(key)
        if value is None:
            return default
        wanted = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            kind = "an integer" if integer else "a number"
            raise self.fail(key, f"expected {kind}, got {describe_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):  # YAML's .nan and .inf
            raise self.fail(key, f"expected a finite number, got {value}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum:g}")
        if value > maximum:
            raise self.fail(key, f"must be at most {maximum:g}")
        return value

    def duration(self, key: str, default: float, *, positive: bool) -> float:
        value = self.raw(key)
        if value is None:
            return default
        seconds = parse_duration(value)
        if seconds is None:
            raise self.fail(key, f"not a duration ({DURATION_HINT})")
        if positive and seconds <= 0:
            raise self.fail(key, "must be greater than zero")
        return seconds

    def url(self, key: str, default: str | None = None) -> str:
        value = self.string(key, default)
        try:
            parts = urlsplit(value)
            hostname = parts.hostname
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise self.fail(key, "not a valid URL") from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise self.fail(key, "not a URL of the form http(s)://host/path")
        if parts.username is not None or parts.password is not None:
            raise self.fail(key, "must not carry credentials (use username/password)")
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
            raise self.fail(key, f"invalid regular expression: {error.msg}") from None

    def secret(self, key: str) -> Secret:
        """`key` inline (usually `${ENV}`) or `key_file`, exactly one of them."""
        file_key = f"{key}_file"
        if self.has(key) and self.has(file_key):
            raise self.fail(file_key, f"set either {key} or {file_key}, not both")
        if self.has(file_key):
            return Secret(self._read_secret_file(file_key))
        inline = self.raw(key)
        if inline is None:
            raise self.fail(key, f"is required (set {key} or {file_key})")
        return Secret(self._text(key, inline))

    def _read_secret_file(self, file_key: str) -> str:
        """The file's text minus one final line break (LF or CRLF), which is not the secret's."""
        path = self.string(file_key)
        try:
            # Bytes, not read_text: universal newlines would turn a stray CR into a line break.
            with Path(path).open("rb") as file:
                data = file.read(_MAX_SECRET_BYTES + 1)
        except OSError as error:
            raise self.fail(file_key, f"cannot read the file: {error.strerror}") from None
        if len(data) > _MAX_SECRET_BYTES:
            raise self.fail(file_key, "the file is larger than a credential can be (64 KiB)")
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(file_key, "the file is not UTF-8 text") from None
        content = (
            content.removesuffix("\r\n") if content.endswith("\r\n") else content.removesuffix("\n")
        )
        self.refuse_control_characters(file_key, content, "the file holds")
        if not content.strip():
            raise self.fail(file_key, "the file is empty")
        return content

    def refuse_control_characters(
        self, key: str, value: str, holder: str = "the value has"
    ) -> None:
        """Control characters would break the HTTP header or login body they end up in."""
        if _CONTROL_CHARACTER.search(value):
            raise self.fail(
                key,
                f"{holder} a control character (a line break, CR, NUL, tab...), "
                "which no credential or setting may contain",
            )

    def tls(self) -> TlsSettings:
        if not self.has("tls"):
            return TlsSettings()
        section = self.sub_section("tls", TLS_KEYS)
        settings = TlsSettings(
            ca_file=section.optional_string("ca_file"),
            insecure_skip_verify=section.boolean("insecure_skip_verify", False),
        )
        if settings.ca_file and not Path(settings.ca_file).is_file():
            raise section.fail("ca_file", "no such file")
        return settings


def _entry_label(key: str, index: int, item: Any) -> str:
    """`odin[0] "odin-prod"`; only a valid name is shown (it is a label on every metric)."""
    name = item.get("name") if isinstance(item, dict) else None
    named = f' "{name}"' if isinstance(name, str) and _TARGET_NAME.match(name) else ""
    return f"{key}[{index}]{named}"


def _expand(value: Any, fail: Callable[[str], ConfigError]) -> Any:
    """`value` with ${VAR} replaced in every string (lists included); an unset VAR fails."""
    if isinstance(value, list):
        return [_expand(item, fail) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        variable = match.group(1)
        if variable not in os.environ:
            raise fail(f"environment variable {variable} is not set")
        return os.environ[variable]

    return _ENV_REFERENCE.sub(substitute, value)


def parse_duration(value: Any) -> float | None:
    """Seconds from `10s`, `500ms`, `1m30s` or a number of seconds (quoted or not); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text)
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
            "max_concurrency",
            defaults.max_concurrency,
            minimum=1,
            maximum=MAX_CONCURRENCY,
            integer=True,
        ),
        "rate_limit": float(section.number("rate_limit", defaults.rate_limit, minimum=0)),
        "min_interval": section.duration("min_interval", 0.0, positive=False),
        "tls": section.tls(),
    }


def _target_name(section: _Section) -> str:
    name = section.string("name")
    if not _TARGET_NAME.match(name):
        raise section.fail("name", "may use only letters, digits, _ . : - (and start with one)")
    return name


def _service_provider_choice(section: _Section) -> tuple[tuple[str, ...], bool]:
    """`service_providers` or `discover: true` (with its filters), exactly one of them."""
    service_providers = _string_list(section, "service_providers")
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


def _parse_odin(section: _Section) -> OdinTarget:
    name = _target_name(section)
    url = section.url("url")
    username = section.string("username")
    password = section.secret("password")
    service_providers, discover = _service_provider_choice(section)
    return OdinTarget(
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
        refresh=_refresh(section),
        **_common_settings(section, OdinTarget),
    )


def _refresh(section: _Section) -> RefreshIntervals:
    """`refresh:` — how long each kind of Odin data is kept (0s: read on every scrape)."""
    if not section.has("refresh"):
        return RefreshIntervals()
    intervals = section.sub_section("refresh", REFRESH_KEYS)
    defaults = RefreshIntervals()
    return RefreshIntervals(
        **{
            key: intervals.duration(key, getattr(defaults, key), positive=False)
            for key in REFRESH_KEYS
        }
    )


def _parse_didww(section: _Section) -> DidwwTarget:
    return DidwwTarget(
        name=_target_name(section),
        url=section.url("url", DIDWW_DEFAULT_URL),
        api_key=section.secret("api_key"),
        api_version=_api_version(section),
        **_common_settings(section, DidwwTarget),
    )


def _api_version(section: _Section) -> str:
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


def _string_list(section: _Section, key: str) -> tuple[str, ...]:
    value = section.raw(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise section.fail(key, "expected a list of non-empty strings")
    for index, item in enumerate(value):
        section.refuse_control_characters(key, item)
        if item in value[:index]:
            first = value.index(item)
            raise section.fail(
                key, f"item {index + 1} repeats item {first + 1} (each may be listed once)"
            )
    return tuple(value)


def _parse_link(
    section: _Section, odin_targets: dict[str, OdinTarget], didww_names: set[str]
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


def _check_unique_names(parsed: list[tuple[_Section, OdinTarget | DidwwTarget]]) -> None:
    seen: set[str] = set()
    for section, target in parsed:
        if target.name in seen:
            raise section.fail(
                "name", "another target has this name (names must be unique across the file)"
            )
        seen.add(target.name)


def describe_config(config: Config) -> str:
    """What a config holds, on one screen: a headline, then two lines per target. No secrets."""
    count = len(config.target_names)
    lines = [
        f"{count} target{'s' if count != 1 else ''} "
        f"({len(config.odin)} Odin, {len(config.didww)} DIDWW)"
    ]
    for odin in config.odin:
        lines.append(f"  {odin.name}: Odin at {_host(odin.url)}, {_service_provider_summary(odin)}")
        trunk_groups = "trunk groups on" if odin.trunk_groups else "trunk groups off"
        lines.append(f"    {trunk_groups}, {_transport_summary(odin)}")
        lines.append(f"    refresh {_refresh_summary(odin.refresh, odin.trunk_groups)}")
    for didww in config.didww:
        lines.append(f"  {didww.name}: DIDWW at {_host(didww.url)}, API {didww.api_version}")
        lines.append(f"    {_transport_summary(didww)}")
    return "\n".join(lines)


_LISTED_SERVICE_PROVIDERS = 5


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
    def every(seconds: float) -> str:
        return format_duration(seconds) if seconds else "every scrape"

    summary = f"reports {every(refresh.reports)}"
    if trunk_groups:
        summary += (
            f", trunk-group lists {every(refresh.trunk_group_lists)}, "
            f"details {every(refresh.trunk_group_details)}"
        )
    return summary


def _transport_summary(target: OdinTarget | DidwwTarget) -> str:
    rate = f"{target.rate_limit:g}/s" if target.rate_limit else "unlimited"
    cache = format_duration(target.min_interval) if target.min_interval else "off"
    verify = "TLS verify off" if target.tls.insecure_skip_verify else "TLS verified"
    return (
        f"timeout {format_duration(target.timeout)}, max_concurrency {target.max_concurrency}, "
        f"rate_limit {rate}, min_interval {cache}, {verify}"
    )


def _host(url: str) -> str:
    """Host and port only: a path can be long, and a summary has no use for it."""
    return urlsplit(url).netloc


def format_duration(seconds: float) -> str:
    """`90` as `1m30s`, `0.5` as `500ms`: the way durations are written in the config."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest:g}s"
    hours, minutes = divmod(int(minutes), 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{rest:g}s" if rest else "")
