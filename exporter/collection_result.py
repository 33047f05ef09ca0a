"""What every collection reports besides its data: the errors it met along the way."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from exporter.http_client import UpstreamError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectionError:
    reason: str
    endpoint: str
    detail: str
    service_provider: str | None = None


class ErrorLog:
    """Thread-safe list of a collection's errors; each one is logged once, as it happens."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._errors: list[CollectionError] = []
        self._lock = threading.Lock()

    def add(self, error: CollectionError) -> None:
        fields = {"target": self.target, "endpoint": error.endpoint, "reason": error.reason}
        if error.service_provider is not None:
            fields["service_provider"] = error.service_provider
        log.warning(error.detail, extra=fields)
        with self._lock:
            self._errors.append(error)

    def add_upstream(self, error: UpstreamError, service_provider: str | None = None) -> None:
        self.add(CollectionError(error.reason, error.endpoint, error.detail, service_provider))

    def snapshot(self) -> tuple[CollectionError, ...]:
        with self._lock:
            return tuple(self._errors)
