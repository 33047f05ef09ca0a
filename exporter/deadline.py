"""A point in time by which a scrape must have answered."""

from __future__ import annotations

import time


class Deadline:
    """Monotonic deadline shared by every upstream call of one collection."""

    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self._end = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f}s)"
