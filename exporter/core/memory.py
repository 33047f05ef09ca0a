"""The memory an upstream's answers may take: per collection, and over all collections at once.

The body of one answer is capped (8 MiB), but what decides the memory a collection takes is
what its answers become once parsed, summed over every page: a gzip-compressed page of 23 kB
can unpack to 8 MB of tiny JSON objects, about 60 MB once parsed, and 120 such pages held
together are gigabytes. So every answer is charged, before it is parsed, with an estimate of
what parsing it will allocate (`parsed_size`), and that charge is given back once the parser is
done with it; what a vendor keeps for the rest of the collection (a DIDWW page) is charged for
as long as the collection runs (`hold`). A charge that does not fit the collection's account,
or the process's budget shared by every collection running at once, fails that call as
`invalid_response`: the collection is an error with what it has, and nothing else is touched.

Each collection's account is closed when it ends, which gives everything back. What a vendor
keeps between collections (answers kept for `refresh`) is not charged: a DIDWW kind is read
whole within one account, so it is at most one `per_collection`; Odin's kept reports and trunk
groups are read over many collections, one answer at a time, and grow with the account's size,
which docs/deployment.md measures, not with this budget. docs/security.md relates the bounds
to the container's memory limit.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

from exporter.core.errors import UpstreamError

MIB = 1024 * 1024

# What json.loads allocates, at most, per unit of the text (measured with tracemalloc on
# CPython 3.11-3.13; tests/test_memory.py holds the estimate above the measure): the decoded
# text and the strings cut from it, each container (an empty dict is 64 bytes, a small one
# about 230), each string's object header, and each element's pointer and number object.
_PER_BYTE = 3
_PER_CONTAINER = 100
_PER_STRING = 60
_PER_ELEMENT = 32


def parsed_size(body: bytes) -> int:
    """An upper estimate of the memory `json.loads(body)` allocates, counted without parsing
    (each count is one pass of C over the bytes)."""
    containers = body.count(b"{") + body.count(b"[")
    strings = body.count(b'"') // 2
    elements = body.count(b",")
    return (
        _PER_BYTE * len(body)
        + _PER_CONTAINER * containers
        + _PER_STRING * strings
        + _PER_ELEMENT * elements
    )


def deep_size(value: Any) -> int:
    """The memory held by decoded JSON (dicts, lists, strings, numbers), shared objects
    counted each time they are reached (an upper bound, as `parsed_size` is)."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        size += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return size


@dataclass(frozen=True)
class MemoryLimits:
    per_collection: int = 48 * MIB
    total: int = 96 * MIB  # every collection running at once


class MemoryBudget:
    """The process's budget, from which each collection opens its account."""

    def __init__(self, limits: MemoryLimits = MemoryLimits()) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._used = 0

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def account(self) -> MemoryAccount:
        return MemoryAccount(self, self.limits.per_collection)

    def _take(self, size: int) -> bool:
        with self._lock:
            if self._used + size > self.limits.total:
                return False
            self._used += size
            return True

    def _give_back(self, size: int) -> None:
        with self._lock:
            self._used -= size


class MemoryAccount:
    """One collection's share: charged by its worker threads, closed when it ends."""

    def __init__(self, budget: MemoryBudget | None, limit: int) -> None:
        self._budget = budget
        self._limit = limit
        self._lock = threading.Lock()
        self._used = 0
        self._closed = False

    @classmethod
    def unlimited(cls) -> MemoryAccount:
        """For a deadline outside any collection (tests, tools)."""
        return cls(None, sys.maxsize)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def charge(self, size: int, endpoint: str, what: str = "the answer") -> Charge:
        """Take `size` bytes until the charge is released (or the account closed); raises
        `UpstreamError` (invalid_response) when they do not fit."""
        with self._lock:
            # Both taken under the account's lock, so that close() gives back exactly what
            # the budget took for this account.
            if self._closed or self._used + size > self._limit:
                raise self._refusal(endpoint, what, size, "the collection's")
            if self._budget is not None and not self._budget._take(size):
                raise self._refusal(endpoint, what, size, "all collections'")
            self._used += size
        return Charge(self, size)

    def hold(self, size: int, endpoint: str, what: str) -> None:
        """Take `size` bytes until the collection ends."""
        self.charge(size, endpoint, what)

    def close(self) -> None:
        """Give everything back; later charges fail (a call that outlived its collection)."""
        with self._lock:
            used, self._used, self._closed = self._used, 0, True
        if self._budget is not None:
            self._budget._give_back(used)

    def _return(self, size: int) -> None:
        with self._lock:
            if self._closed:
                return  # already given back whole
            self._used -= size
        if self._budget is not None:
            self._budget._give_back(size)

    def _refusal(self, endpoint: str, what: str, size: int, whose: str) -> UpstreamError:
        limit = self._limit if whose == "the collection's" else self._total_limit()
        return UpstreamError(
            "invalid_response",
            endpoint,
            f"{what} would take about {size / MIB:.1f} MiB, beyond {whose} memory budget "
            f"of {limit / MIB:g} MiB",
        )

    def _total_limit(self) -> int:
        return self._budget.limits.total if self._budget is not None else sys.maxsize


class Charge:
    """Bytes taken from an account, given back once (a context manager)."""

    def __init__(self, account: MemoryAccount, size: int) -> None:
        self._account = account
        self._size = size

    def release(self) -> None:
        size, self._size = self._size, 0
        if size:
            self._account._return(size)

    def __enter__(self) -> Charge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
