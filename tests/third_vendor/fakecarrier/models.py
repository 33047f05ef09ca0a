"""The one answer the carrier gives: its channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.core.payload import InvalidPayload, as_object, optional_number


@dataclass(frozen=True)
class Channels:
    total: float
    in_use: float


def parse_channels(body: Any) -> Channels:
    obj = as_object(body, "channels")
    total = optional_number(obj, "channels_total", "channels")
    in_use = optional_number(obj, "channels_in_use", "channels")
    if total is None or in_use is None:
        raise InvalidPayload("channels: channels_total and channels_in_use are required")
    return Channels(total=total, in_use=in_use)
