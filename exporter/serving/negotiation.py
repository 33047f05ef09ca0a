"""Content negotiation for the exposition: which format, and whether to gzip.

Both functions read a client's header and never fail: a header that cannot be parsed, or asks
for something not served, gets the Prometheus text format, uncompressed. They run before any
collection starts, so a bad header never costs an upstream call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from exporter.core.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE

Format = Literal["text", "openmetrics"]

# Prometheus asks for OpenMetrics 1.0.0 (and 0.0.1, which 1.0.0 parsers read); no later
# version exists, so anything else in the version parameter cannot be served.
_OPENMETRICS_VERSIONS = {"1.0.0", "0.0.1"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QVALUE = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")
# A header longer than any real client sends is not worth parsing.
_MAX_HEADER = 4096


@dataclass(frozen=True)
class Exposition:
    format: Format
    content_type: str


TEXT = Exposition("text", TEXT_CONTENT_TYPE)
OPENMETRICS = Exposition("openmetrics", OPENMETRICS_CONTENT_TYPE)


@dataclass(frozen=True)
class _MediaRange:
    media_type: str  # lower case, e.g. "application/openmetrics-text"
    parameters: dict[str, str]  # names lower case, values unquoted
    quality: float


def negotiate(accept: str | None) -> Exposition:
    """OpenMetrics 1.0.0 when the client prefers it over the text format, else text 0.0.4.

    Follows the q-values; a range that is malformed (bad parameter, `version=abc`, q out of
    range) is ignored rather than failing the request, as is a header that is too long.
    """
    best: tuple[float, Exposition] = (0.0, TEXT)
    text_quality = 0.0
    for media_range in _media_ranges(accept or ""):
        if media_range.media_type == "application/openmetrics-text":
            version = media_range.parameters.get("version", "1.0.0")
            if version in _OPENMETRICS_VERSIONS and media_range.quality > best[0]:
                best = (media_range.quality, OPENMETRICS)
        elif media_range.media_type in ("text/plain", "text/*", "*/*"):
            text_quality = max(text_quality, media_range.quality)
    # Equal preference goes to the text format: it is smaller and every scraper reads it.
    return best[1] if best[0] > text_quality else TEXT


def gzip_accepted(accept_encoding: str | None) -> bool:
    """Whether the client takes a gzip body (`gzip` or `x-gzip` with q > 0)."""
    header = accept_encoding or ""
    if len(header) > _MAX_HEADER:
        return False
    for item in header.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        if coding.lower() not in ("gzip", "x-gzip"):
            continue
        quality = _quality(parameters)
        if quality is not None and quality > 0:
            return True
    return False


def _media_ranges(header: str) -> list[_MediaRange]:
    if len(header) > _MAX_HEADER:
        return []
    ranges = []
    for item in header.split(","):
        media_type, *raw_parameters = (part.strip() for part in item.split(";"))
        kind, slash, subtype = media_type.partition("/")
        if not (slash and _TOKEN.fullmatch(kind) and _TOKEN.fullmatch(subtype)):
            continue
        parameters = _parameters(raw_parameters)
        quality = _quality(raw_parameters)
        if parameters is None or quality is None or quality == 0:
            continue
        ranges.append(_MediaRange(media_type.lower(), parameters, quality))
    return ranges


def _parameters(raw: list[str]) -> dict[str, str] | None:
    """`name=value` pairs (values may be quoted); None when one is malformed."""
    parameters = {}
    for parameter in raw:
        name, equals, value = (part.strip() for part in parameter.partition("="))
        value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if not (equals and _TOKEN.fullmatch(name) and value):
            return None
        parameters[name.lower()] = value
    return parameters


def _quality(raw: list[str]) -> float | None:
    """The q parameter (1 when absent); None when it is not a valid qvalue."""
    for parameter in raw:
        name, _, value = (part.strip() for part in parameter.partition("="))
        if name.lower() == "q":
            return float(value) if _QVALUE.fullmatch(value) else None
    return 1.0
