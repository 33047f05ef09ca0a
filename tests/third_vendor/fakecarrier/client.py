"""The carrier's one call."""

from __future__ import annotations

from typing import Any

from exporter.vendors.fakecarrier.config import FakeCarrierTarget
from exporter.vendors.fakecarrier.models import Channels, parse_channels

from exporter.core.deadline import Deadline
from exporter.core.telemetry import Telemetry
from exporter.upstream.http_client import UpstreamSession, raise_for_status

CHANNELS = "/channels"


class FakeCarrierClient:
    def __init__(self, target: FakeCarrierTarget, telemetry: Telemetry) -> None:
        headers = {"Authorization": f"Bearer {target.token.reveal()}"}
        self._session = UpstreamSession.for_target(target, telemetry, headers)

    def close(self) -> None:
        self._session.close()

    def fetch_channels(self, deadline: Deadline) -> Channels:
        response = self._session.request("GET", CHANNELS, deadline=deadline)
        raise_for_status(response, _error_messages)
        return response.parse(parse_channels)


def _error_messages(body: Any) -> list[str]:
    message = body.get("message") if isinstance(body, dict) else None
    return [message] if isinstance(message, str) else []
