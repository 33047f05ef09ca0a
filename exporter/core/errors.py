"""The one exception a vendor's client raises for a failed upstream call."""

from __future__ import annotations


class UpstreamError(Exception):
    """A failed upstream call, classified by one of `telemetry.ERROR_REASONS`."""

    def __init__(
        self,
        reason: str,
        endpoint: str,
        detail: str,
        status: int | None = None,
        explained: bool = False,
    ):
        super().__init__(f"{endpoint}: {detail}")
        self.reason = reason
        self.endpoint = endpoint
        self.detail = detail
        self.status = status
        self.explained = explained  # the error body carried the vendor's own message
