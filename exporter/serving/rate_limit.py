"""The web config's `rate_limit`: a token bucket, as exporter-toolkit's (Go's rate.Limiter).

The bucket holds `burst` tokens and starts full; one token comes back every `interval`. A
request that finds no token is answered 429. Shared by the worker threads, so it takes a lock
for the few arithmetic operations of each request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    interval: float  # seconds between two tokens; positive
    burst: int  # tokens the bucket holds; 0 or less refuses every request, as in Go


class TokenBucket:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(max(limit.burst, 0))
        self._updated = clock()

    def take(self) -> float | None:
        """None when a token was taken (the request may go on), else the seconds until the
        next token (for Retry-After)."""
        interval, burst = self._limit.interval, self._limit.burst
        with self._lock:
            now = self._clock()
            earned = (now - self._updated) / interval
            self._tokens = min(float(burst), self._tokens + earned)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            if burst <= 0:
                return math.inf
            return (1 - self._tokens) * interval
