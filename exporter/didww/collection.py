"""One collection of a DIDWW account: pools, shared capacity groups and balance, concurrently.

Collections are paginated: the first page tells how many there are (`links.last` or
`meta.total_records`), and the rest are then fetched concurrently within the rate limit.
Without either, `links.next` is followed one page at a time, stopping at a loop or the cap.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from exporter.collection_result import CollectionError, ErrorLog
from exporter.deadline import Deadline
from exporter.didww.client import (
    CAPACITY_POOLS,
    SHARED_CAPACITY_GROUPS,
    DidwwClient,
)
from exporter.didww.models import (
    AccountBalance,
    CapacityPool,
    Page,
    Resource,
    SharedCapacityGroup,
    parse_capacity_pool,
    parse_shared_capacity_group,
)
from exporter.fanout import FanOut
from exporter.http_client import UpstreamError
from exporter.payload import InvalidPayload

log = logging.getLogger(__name__)

Named = TypeVar("Named", CapacityPool, SharedCapacityGroup)

# Far more than any account has; stops a server that keeps announcing more pages.
MAX_PAGES = 200


@dataclass(frozen=True)
class DidwwSnapshot:
    """Everything one collection of a DIDWW account found."""

    pools: tuple[CapacityPool, ...]
    groups: tuple[SharedCapacityGroup, ...]
    balance: AccountBalance | None
    api_version: str | None
    errors: tuple[CollectionError, ...]
    target_error: str | None = None  # the collection itself failed: nothing was read

    @property
    def up(self) -> bool:
        """Every DIDWW call of this collection succeeded."""
        return self.target_error is None and not self.errors

    @property
    def complete(self) -> bool:
        return self.up


def failed_didww_snapshot(reason: str) -> DidwwSnapshot:
    return DidwwSnapshot((), (), None, None, (), target_error=reason)


class _Collected:
    """Pages and the balance as they arrive from concurrent tasks."""

    def __init__(self, target: str) -> None:
        self.errors = ErrorLog(target)
        self._lock = threading.Lock()
        self.pages: dict[str, dict[int, Page]] = {CAPACITY_POOLS: {}, SHARED_CAPACITY_GROUPS: {}}
        self.balance: AccountBalance | None = None
        self._looped: set[str] = set()

    def add_page(self, endpoint: str, number: int, page: Page) -> None:
        with self._lock:
            self.pages[endpoint][number] = page

    def first_loop(self, endpoint: str) -> bool:
        """True the first time a pagination loop is seen on `endpoint`."""
        with self._lock:
            first = endpoint not in self._looped
            self._looped.add(endpoint)
            return first

    def set_balance(self, balance: AccountBalance) -> None:
        with self._lock:
            self.balance = balance


class DidwwCollection:
    """Fetches one snapshot of a DIDWW account under a deadline."""

    def __init__(self, client: DidwwClient) -> None:
        self._client = client
        self._target = client.target

    def __call__(self, deadline: Deadline) -> DidwwSnapshot:
        collected = _Collected(self._target.name)
        with FanOut(self._target.max_concurrency, f"didww-{self._target.name}") as fan_out:
            fan_out.submit(
                self._collect_collection, fan_out, collected, CAPACITY_POOLS, None, deadline
            )
            fan_out.submit(
                self._collect_collection,
                fan_out,
                collected,
                SHARED_CAPACITY_GROUPS,
                "capacity_pool,dids",
                deadline,
            )
            fan_out.submit(self._collect_balance, collected, deadline)
            if not fan_out.wait(deadline):
                collected.errors.add(
                    CollectionError("timeout", "", "DIDWW calls unfinished at the scrape deadline")
                )
        return self._build(collected)

    def _collect_balance(self, collected: _Collected, deadline: Deadline) -> None:
        try:
            collected.set_balance(self._client.fetch_balance(deadline))
        except UpstreamError as error:
            collected.errors.add_upstream(error)

    def _collect_collection(
        self,
        fan_out: FanOut,
        collected: _Collected,
        endpoint: str,
        include: str | None,
        deadline: Deadline,
    ) -> None:
        try:
            first = self._client.fetch_page(endpoint, 1, deadline, include)
        except UpstreamError as error:
            collected.errors.add_upstream(error)
            return
        collected.add_page(endpoint, 1, first)
        last = _announced_last_page(first)
        if last is None:
            self._follow_next_links(collected, endpoint, include, first, deadline)
            return
        _warn_if_next_link_goes_back(collected, endpoint, 1, first)
        if last > MAX_PAGES:
            collected.errors.add(
                CollectionError(
                    "invalid_response", endpoint, f"{last} pages announced, reading {MAX_PAGES}"
                )
            )
        for number in range(2, min(last, MAX_PAGES) + 1):
            fan_out.submit(self._collect_page, collected, endpoint, include, number, deadline)

    def _collect_page(
        self,
        collected: _Collected,
        endpoint: str,
        include: str | None,
        number: int,
        deadline: Deadline,
    ) -> None:
        page = self._fetch_page(collected, endpoint, include, number, deadline)
        if page is not None:
            _warn_if_next_link_goes_back(collected, endpoint, number, page)

    def _fetch_page(
        self,
        collected: _Collected,
        endpoint: str,
        include: str | None,
        number: int,
        deadline: Deadline,
    ) -> Page | None:
        """Fetch and keep one page; None (and the error recorded) when that failed."""
        try:
            page = self._client.fetch_page(endpoint, number, deadline, include)
        except UpstreamError as error:
            collected.errors.add_upstream(error)
            return None
        collected.add_page(endpoint, number, page)
        return page

    def _follow_next_links(
        self,
        collected: _Collected,
        endpoint: str,
        include: str | None,
        page: Page,
        deadline: Deadline,
    ) -> None:
        number, current = 1, page
        while current.next_page is not None and _next_link_moves_forward(
            collected, endpoint, number, current
        ):
            if len(collected.pages[endpoint]) >= MAX_PAGES:
                collected.errors.add(
                    CollectionError("invalid_response", endpoint, f"more than {MAX_PAGES} pages")
                )
                return
            number = current.next_page
            following = self._fetch_page(collected, endpoint, include, number, deadline)
            if following is None:
                return
            current = following

    def _build(self, collected: _Collected) -> DidwwSnapshot:
        pool_pages = [
            collected.pages[CAPACITY_POOLS][n] for n in sorted(collected.pages[CAPACITY_POOLS])
        ]
        group_pages = [
            collected.pages[SHARED_CAPACITY_GROUPS][n]
            for n in sorted(collected.pages[SHARED_CAPACITY_GROUPS])
        ]
        pool_resources = [r for page in pool_pages for r in page.data]
        # A pool without groups appears only in /capacity_pools; one only referenced by
        # groups is still worth exporting, so `included` pools come second.
        pool_resources += [
            r for page in group_pages for r in page.included if r.type == "capacity_pools"
        ]
        pools = self._parse_unique(collected, CAPACITY_POOLS, pool_resources, parse_capacity_pool)
        group_resources = [r for page in group_pages for r in page.data]
        groups = self._parse_unique(
            collected, SHARED_CAPACITY_GROUPS, group_resources, parse_shared_capacity_group
        )
        versions = [p.api_version for p in (*pool_pages, *group_pages) if p.api_version]
        balance = collected.balance
        if balance is not None and balance.api_version:
            versions.append(balance.api_version)
        return DidwwSnapshot(
            pools=tuple(pools),
            groups=tuple(groups),
            balance=balance,
            api_version=versions[0] if versions else None,
            errors=collected.errors.snapshot(),
        )

    def _parse_unique(
        self,
        collected: _Collected,
        endpoint: str,
        resources: list[Resource],
        parser: Callable[[Resource], Named],
    ) -> list[Named]:
        """Parse resources once per id and once per name (names label the metrics)."""
        parsed: list[Named] = []
        seen_ids: set[str] = set()
        seen_names: set[str] = set()
        for resource in resources:
            if resource.id in seen_ids:
                continue
            seen_ids.add(resource.id)
            try:
                item = parser(resource)
            except InvalidPayload as error:
                collected.errors.add(CollectionError("invalid_response", endpoint, str(error)))
                continue
            if item.name in seen_names:
                collected.errors.add(
                    CollectionError(
                        "invalid_response", endpoint, f"name {item.name[:60]!r} is used twice"
                    )
                )
                continue
            seen_names.add(item.name)
            parsed.append(item)
        return parsed


def _warn_if_next_link_goes_back(
    collected: _Collected, endpoint: str, number: int, page: Page
) -> None:
    """With the page count known every page is read anyway: a `next` pointing back (as in a
    published DIDWW fixture) costs nothing, so it is a warning, not a failed collection."""
    goes_back = page.next_page is not None and page.next_page <= number
    if goes_back and collected.first_loop(endpoint):
        log.warning(
            f"links.next of page {number} points back at page {page.next_page}; "
            "every announced page is read regardless",
            extra={"target": collected.errors.target, "endpoint": endpoint},
        )


def _next_link_moves_forward(collected: _Collected, endpoint: str, number: int, page: Page) -> bool:
    """False when links.next points at this page or an earlier one (reported once)."""
    if page.next_page is None or page.next_page > number:
        return True
    if collected.first_loop(endpoint):
        collected.errors.add(
            CollectionError(
                "invalid_response",
                endpoint,
                f"pagination loops: links.next of page {number} points back at page "
                f"{page.next_page}",
            )
        )
    return False


def _announced_last_page(first: Page) -> int | None:
    """How many pages the collection has, from `links.last` or `meta.total_records`."""
    if first.next_page is None:
        return 1
    if first.last_page is not None:
        return first.last_page
    if first.total_records is not None and first.data:
        return math.ceil(first.total_records / len(first.data))
    return None
