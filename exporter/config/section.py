"""Reading one mapping of a YAML file as typed settings, with errors that say where.

Every problem is reported as one `ConfigError` line naming the file, the line, the entry and the
key, but never the value, e.g. ``config.yml: line 7: odin[0] "odin-prod": timeout: not a
duration (use 10s, 500ms, 1m30s or a number of seconds)``. An unknown key is reported before
anything else, with the closest known key. `${VAR}` in any string is replaced from the
environment. Secrets are wrapped in `Secret` at load time so that no repr, log line or error
message can print them; one with a control or format character is refused, and one sent as an
HTTP header value must be Latin-1 without leading or trailing whitespace. An unknown key that
holds its own value (`api_key:VALUE`, a missing space) is shown only up to the colon.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exporter.config.yaml_file import describe_kind, line_of, shown_key

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Prometheus' units, largest first, each at most once: `1w2d`, `1h30m`, `1s500ms`.
_DURATION_UNITS = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_DURATION = re.compile(
    "".join(rf"(?:(?P<{unit}>\d+(?:\.\d+)?){unit})?" for unit in _DURATION_UNITS)
)
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MAX_SECRET_BYTES = 64 * 1024
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
# Characters no secret may hold beyond those: C1 controls (U+0085), format characters (U+200B,
# U+202E), line and paragraph separators (U+2028): invisible when typed, pasted or shown.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
DURATION_HINT = "use 10s, 500ms, 1m30s, 1d or a number of seconds"


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


class Section:
    """One mapping of the file: its known keys, where it sits, and how its errors read.

    Errors read `<file>: line <n>: <entry>: <key>: <problem>` and never quote a value: the
    value may be a secret, or a secret typed into the wrong key.
    """

    def __init__(
        self,
        mapping: Any,
        source: str,
        where: str,
        known: tuple[str, ...],
        line: int | None,
        nested_keys: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        nested_keys = nested_keys or {}
        self.source = source
        self.where = where
        if not isinstance(mapping, dict):
            raise self._error(line, f"expected a mapping, got {describe_kind(mapping)}")
        self.mapping = mapping
        self._reject_unknown(known)
        for key, nested in nested_keys.items():
            if key in known and isinstance(mapping.get(key), dict):
                self.sub_section(key, nested, nested_keys)

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
            name = shown_key(key)
            if name.endswith("…") and name[:-2] in known:
                hint = f"a value joined to its key: write `{name[:-2]}: <value>`, with a space"
            else:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]}?" if close else "see docs/configuration.md"
            raise self._error(self.line(key), f"unknown key {name!r} ({hint})")

    def raw(self, key: str) -> Any:
        """The value of `key` with ${VAR} replaced from the environment; None when absent."""
        return _expand(self.mapping.get(key), lambda problem: self.fail(key, problem))

    def has(self, key: str) -> bool:
        return self.mapping.get(key) is not None

    def entries(
        self,
        key: str,
        known: tuple[str, ...],
        nested_keys: Mapping[str, tuple[str, ...]] | None = None,
    ) -> list[Section]:
        """The list under `key`, each item checked for unknown keys (its nested sections' too)
        before any is parsed."""
        value = self.mapping.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of targets, got {describe_kind(value)}")
        return [
            Section(
                item,
                self.source,
                _entry_label(key, index, item),
                known,
                line_of(value, index),
                nested_keys,
            )
            for index, item in enumerate(value)
        ]

    def sub_section(
        self,
        key: str,
        known: tuple[str, ...],
        nested_keys: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Section:
        where = f"{self.where}: {key}" if self.where else key
        return Section(
            self.mapping.get(key), self.source, where, known, self.line(key), nested_keys
        )

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

    def secret(self, key: str, header: bool = False) -> Secret:
        """`key` inline (usually `${ENV}`) or `key_file`, exactly one of them; `header`: it is
        sent as an HTTP header value, so it must be one (checked here, not at every call)."""
        file_key = f"{key}_file"
        if self.has(key) and self.has(file_key):
            raise self.fail(file_key, f"set either {key} or {file_key}, not both")
        if self.has(file_key):
            value, named, holder = self._read_secret_file(file_key), file_key, "the file holds"
        else:
            inline = self.raw(key)
            if inline is None:
                raise self.fail(key, f"is required (set {key} or {file_key})")
            value, named, holder = self._text(key, inline), key, "the value has"
        self._refuse_unsendable(named, value, holder, header)
        return Secret(value)

    def _refuse_unsendable(self, key: str, value: str, holder: str, header: bool) -> None:
        """Say what is wrong with a secret, never which character or where: that is part of
        the secret too."""
        if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in value):
            raise self.fail(
                key,
                f"{holder} a control or format character (such as U+0085, U+200B, U+2028 or "
                "U+202E), which no credential may contain",
            )
        if not header:
            return
        if any(ord(character) > 0xFF for character in value):
            raise self.fail(
                key,
                f"{holder} a character outside Latin-1, which cannot be sent in an HTTP header",
            )
        if value != value.strip():
            raise self.fail(
                key, f"{holder} leading or trailing whitespace, which an HTTP header drops"
            )

    def _read_secret_file(self, file_key: str) -> str:
        """The file's text minus one final line break (LF or CRLF), which is not the secret's."""
        path = self.string(file_key)
        try:
            # Bytes, not read_text: universal newlines would turn a stray CR into a line break.
            with Path(path).open("rb") as file:
                data = file.read(_MAX_SECRET_BYTES + 1)
        except OSError as error:
            problem = f"cannot read {_shown_path(path)}: {error.strerror}"
            raise self.fail(file_key, problem) from None
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


def is_target_name(name: str) -> bool:
    """Letters, digits, `_ . : -`, starting with a letter or digit: a label on every metric."""
    return bool(_TARGET_NAME.match(name))


def _entry_label(key: str, index: int, item: Any) -> str:
    """`odin[0] "odin-prod"`; only a valid name is shown (it is a label on every metric)."""
    name = item.get("name") if isinstance(item, dict) else None
    named = f' "{name}"' if isinstance(name, str) and is_target_name(name) else ""
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
    """Seconds from `10s`, `500ms`, `1m30s`, `1d`, `1w` or a number of seconds; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        return None
    return sum(float(n) * _DURATION_UNITS[unit] for unit, n in match.groupdict().items() if n)


def string_list(section: Section, key: str) -> tuple[str, ...]:
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


def _shown_path(path: str) -> str:
    """The path of a secret file, which is not secret, unless it may be the secret itself.

    A bare word in `password_file` is more often a password typed into the wrong key than a
    file in the working directory, so only a value with a `/` is printed.
    """
    return path if "/" in path else "the file (a name without '/', not shown)"


def format_duration(seconds: float) -> str:
    """`90` as `1m30s`, `0.5` as `500ms`: the way durations are written in the config."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest:g}s"
    hours, minutes = divmod(int(minutes), 60)
    days, hours = divmod(hours, 24)
    text = "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
    return text + (f"{rest:g}s" if rest else "")


def every(seconds: float) -> str:
    """A refresh interval as `--config.check` says it: `5m`, or `every scrape` for 0."""
    return format_duration(seconds) if seconds else "every scrape"
