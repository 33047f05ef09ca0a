"""Request statistics, so tests and benchmarks can see what a client actually sent."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

_Key = tuple[str, str, tuple[tuple[str, str], ...]]


class Stats:
    """Thread-safe counters of requests per (api, path, query) and of concurrency per API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[_Key] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: Counter[str] = Counter()
        self._logins = 0

    @contextmanager
    def track(self, api: str, path: str, query: Mapping[str, str]) -> Iterator[None]:
        """Count one request and hold it in flight for the duration of the block."""
        with self._lock:
            self._requests[(api, path, tuple(sorted(query.items())))] += 1
            self._in_flight[api] += 1
            self._max_in_flight[api] = max(self._max_in_flight[api], self._in_flight[api])
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[api] -= 1

    def record_login(self) -> None:
        with self._lock:
            self._logins += 1

    @property
    def logins(self) -> int:
        """Successful Odin logins (POST /auth/token answered 200)."""
        with self._lock:
            return self._logins

    def count(self, api: str, path: str | None = None, **match: object) -> int:
        """Requests received for `api`, optionally only for `path` and with these query values."""
        with self._lock:
            return sum(
                n
                for (key_api, key_path, query), n in self._requests.items()
                if key_api == api
                and (path is None or key_path == path)
                and all(dict(query).get(name) == str(value) for name, value in match.items())
            )

    def max_in_flight(self, api: str) -> int:
        """The most requests to `api` observed in flight at once (latency sleep included)."""
        with self._lock:
            return self._max_in_flight[api]

    def reset(self) -> None:
        """Forget counts; the in-flight high-water mark restarts from what is in flight now."""
        with self._lock:
            self._requests.clear()
            self._max_in_flight = Counter(self._in_flight)
            self._logins = 0
