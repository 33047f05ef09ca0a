"""Fetching one snapshot of a DIDWW account: pools, shared capacity groups, DID counts, balance,
voice-in trunks and trunk groups, voice-out trunks.

Collections are paginated: the first page tells how many there are (`links.last` or
`meta.total_records`), and the rest are then fetched concurrently within the rate limit.
Without either, `links.next` is followed one page at a time, stopping at a loop or the cap.

Groups are read with their pools included but not their DIDs: `include=dids` would put every
DID object of the account into the answer (tens of MB for a large account). Each group's DIDs
are counted instead by one `GET /dids?filter[shared_capacity_group.id]=...&page[size]=1`,
whose `meta.total_records` is the count, whatever the number or size of the DIDs.

An account without an outbound plan answers /voice_out_trunks with 403: a standing fact
(`didww_outbound_enabled 0`), not an error.

Every error of a DIDWW collection concerns the whole account: `didww_up` is 1 only when every
call succeeded and every object was valid. An invalid object is left out, the rest is kept.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from exporter.core.collection import CollectionPlan, Run, collect
from exporter.core.deadline import Deadline
from exporter.core.payload import InvalidPayload
from exporter.core.snapshot import TARGET, CollectionError, Part, Snapshot, SnapshotBuilder
from exporter.core.telemetry import Telemetry
from exporter.vendors.didww.client import (
    CAPACITY_POOLS,
    SHARED_CAPACITY_GROUPS,
    VOICE_IN_TRUNK_GROUPS,
    VOICE_IN_TRUNKS,
    VOICE_IN_TRUNKS_INCLUDE,
    VOICE_OUT_TRUNKS,
    DidwwClient,
)
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.didww.metrics import UP_FAMILIES, AccountData, account_lines
from exporter.vendors.didww.models import (
    AccountBalance,
    CapacityPool,
    Page,
    Resource,
    SharedCapacityGroup,
    parse_capacity_pool,
    parse_shared_capacity_group,
)
from exporter.vendors.didww.trunks import TrunkPages, build_trunks

log = logging.getLogger(__name__)

Named = TypeVar("Named", CapacityPool, SharedCapacityGroup)

# Far more than any account has; stops a server that keeps announcing more pages.
MAX_PAGES = 200


class _Collected:
    """Pages, DID counts and the balance as they arrive from concurrent tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pages: dict[str, dict[int, Page]] = {
            endpoint: {}
            for endpoint in (
                CAPACITY_POOLS,
                SHARED_CAPACITY_GROUPS,
                VOICE_IN_TRUNKS,
                VOICE_IN_TRUNK_GROUPS,
                VOICE_OUT_TRUNKS,
            )
        }
        self.did_counts: dict[str, int] = {}
        self.balance: AccountBalance | None = None
        self.outbound_enabled: bool | None = None  # None: /voice_out_trunks did not answer
        self._looped: set[str] = set()

    def add_page(self, endpoint: str, number: int, page: Page) -> None:
        with self._lock:
            self.pages[endpoint][number] = page

    def page_count(self, endpoint: str) -> int:
        with self._lock:
            return len(self.pages[endpoint])

    def claim_group(self, group_id: str) -> bool:
        """True the first time a group's DIDs are to be counted."""
        with self._lock:
            if group_id in self.did_counts:
                return False
            self.did_counts[group_id] = -1
            return True

    def set_did_count(self, group_id: str, count: int) -> None:
        with self._lock:
            self.did_counts[group_id] = count

    def first_loop(self, endpoint: str) -> bool:
        """True the first time a pagination loop is seen on `endpoint`."""
        with self._lock:
            first = endpoint not in self._looped
            self._looped.add(endpoint)
            return first

    def set_balance(self, balance: AccountBalance) -> None:
        with self._lock:
            self.balance = balance

    def set_outbound_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.outbound_enabled = enabled

    def sorted_pages(self, endpoint: str) -> list[Page]:
        with self._lock:
            pages = self.pages[endpoint]
            return [pages[number] for number in sorted(pages)]


# Every DIDWW task concerns the whole account, and gathers into one `_Collected`.
_Run = Run[_Collected]


class DidwwFetcher:
    """Collects snapshots of one DIDWW account; owns its client."""

    def __init__(self, target: DidwwTarget, telemetry: Telemetry) -> None:
        self._target = target
        self._client = DidwwClient(target, telemetry)

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        plan = CollectionPlan(
            target=self._target.name,
            up=UP_FAMILIES,
            max_concurrency=self._target.max_concurrency,
            workers=f"didww-{self._target.name}",
            state=_Collected(),
            start=self._start,
            finish=self._finish,
        )
        return collect(plan, deadline)

    def _start(self, run: _Run) -> None:
        for endpoint, include in (
            (CAPACITY_POOLS, None),
            (SHARED_CAPACITY_GROUPS, "capacity_pool"),
            (VOICE_IN_TRUNKS, VOICE_IN_TRUNKS_INCLUDE),
            (VOICE_IN_TRUNK_GROUPS, None),
        ):
            run.submit(TARGET, self._collect_collection, endpoint, include)
        run.submit(TARGET, self._collect_balance)
        run.submit(TARGET, self._collect_voice_out_trunks)

    def _finish(self, run: _Run, finished: bool) -> None:
        if not finished:
            # The account is rendered whole from what arrived: with work left at the deadline
            # some of it is missing, whichever task it was and whenever it ends.
            run.builder.fail(CollectionError("timeout", "", "unfinished at the deadline"))
        # What arrived is kept even when the deadline came first.
        run.builder.run(TARGET, self._keep_account, run.builder, run.state)

    def _collect_balance(self, run: _Run) -> None:
        run.state.set_balance(self._client.fetch_balance(run.deadline))

    def _collect_collection(self, run: _Run, endpoint: str, include: str | None) -> None:
        first = self._client.fetch_page(endpoint, 1, run.deadline, include)
        self._collect_other_pages(run, endpoint, include, first)

    def _collect_voice_out_trunks(self, run: _Run) -> None:
        first = self._client.fetch_voice_out_trunks_page(1, run.deadline)
        run.state.set_outbound_enabled(first is not None)
        if first is not None:
            self._collect_other_pages(run, VOICE_OUT_TRUNKS, None, first)

    def _collect_other_pages(
        self, run: _Run, endpoint: str, include: str | None, first: Page
    ) -> None:
        """Keep the first page, then fetch the rest: concurrently when their number is known."""
        self._keep_page(run, endpoint, 1, first)
        last = _announced_last_page(first)
        if last is None:
            self._follow_next_links(run, endpoint, include, first)
            return
        self._warn_if_next_link_goes_back(run.state, endpoint, 1, first)
        if last > MAX_PAGES:
            run.builder.fail(
                CollectionError(
                    "invalid_response", endpoint, f"{last} pages announced, reading {MAX_PAGES}"
                )
            )
        for number in range(2, min(last, MAX_PAGES) + 1):
            run.submit(TARGET, self._collect_page, endpoint, include, number)

    def _collect_page(self, run: _Run, endpoint: str, include: str | None, number: int) -> None:
        page = self._client.fetch_page(endpoint, number, run.deadline, include)
        self._keep_page(run, endpoint, number, page)
        self._warn_if_next_link_goes_back(run.state, endpoint, number, page)

    def _keep_page(self, run: _Run, endpoint: str, number: int, page: Page) -> None:
        """Keep a page; a page of groups also starts counting its groups' DIDs."""
        for problem in page.problems:
            run.builder.fail(CollectionError("invalid_response", endpoint, problem))
        run.state.add_page(endpoint, number, page)
        if endpoint != SHARED_CAPACITY_GROUPS:
            return
        for resource in page.data:
            if run.state.claim_group(resource.id):
                run.submit(TARGET, self._count_dids, resource.id)

    def _count_dids(self, run: _Run, group_id: str) -> None:
        run.state.set_did_count(group_id, self._client.count_dids(group_id, run.deadline))

    def _follow_next_links(self, run: _Run, endpoint: str, include: str | None, page: Page) -> None:
        number, current = 1, page
        while current.next_page is not None and self._next_link_moves_forward(
            run.builder, run.state, endpoint, number, current
        ):
            if run.state.page_count(endpoint) >= MAX_PAGES:
                run.builder.fail(
                    CollectionError("invalid_response", endpoint, f"more than {MAX_PAGES} pages")
                )
                return
            number = current.next_page
            current = self._client.fetch_page(endpoint, number, run.deadline, include)
            self._keep_page(run, endpoint, number, current)

    def _keep_account(self, builder: SnapshotBuilder, collected: _Collected) -> None:
        """Parse what arrived into the account's one part."""
        pool_pages = collected.sorted_pages(CAPACITY_POOLS)
        group_pages = collected.sorted_pages(SHARED_CAPACITY_GROUPS)
        pool_resources = [r for page in pool_pages for r in page.data]
        # A pool without groups appears only in /capacity_pools; one only referenced by
        # groups is still worth exporting, so `included` pools come second.
        pool_resources += [
            r for page in group_pages for r in page.included if r.type == "capacity_pools"
        ]
        pools = _parse_unique(builder, CAPACITY_POOLS, pool_resources, parse_capacity_pool)
        group_resources = [r for page in group_pages for r in page.data]
        groups = _parse_unique(
            builder, SHARED_CAPACITY_GROUPS, group_resources, parse_shared_capacity_group
        )
        versions = [p.api_version for p in (*pool_pages, *group_pages) if p.api_version]
        balance = collected.balance
        if balance is not None and balance.api_version:
            versions.append(balance.api_version)
        trunks, problems = build_trunks(
            TrunkPages(
                voice_in_trunks=collected.sorted_pages(VOICE_IN_TRUNKS),
                voice_in_trunk_groups=collected.sorted_pages(VOICE_IN_TRUNK_GROUPS),
                voice_out_trunks=collected.sorted_pages(VOICE_OUT_TRUNKS),
                outbound_enabled=collected.outbound_enabled,
            )
        )
        for problem in problems:
            builder.fail(CollectionError("invalid_response", problem.endpoint, problem.detail))
        data = AccountData(
            pools=pools,
            groups=_with_pool_names(builder, groups, pools, collected.did_counts),
            balance=balance,
            api_version=versions[0] if versions else None,
            trunks=trunks,
        )
        builder.add_part(Part(TARGET, (), account_lines(self._target.name, data)))
        builder.count("pools", len(data.pools))
        builder.count("capacity groups", len(data.groups))
        builder.count("voice-in trunks", len(trunks.voice_in_trunks))
        builder.count("voice-out trunks", len(trunks.voice_out_trunks))

    def _warn_if_next_link_goes_back(
        self, collected: _Collected, endpoint: str, number: int, page: Page
    ) -> None:
        """With the page count known every page is read anyway: a `next` pointing back (as in
        a published DIDWW fixture) costs nothing, so it is a warning, not a failure."""
        goes_back = page.next_page is not None and page.next_page <= number
        if goes_back and collected.first_loop(endpoint):
            log.warning(
                f"links.next of page {number} points back at page {page.next_page}; "
                "every announced page is read regardless",
                extra={"target": self._target.name, "endpoint": endpoint},
            )

    def _next_link_moves_forward(
        self,
        builder: SnapshotBuilder,
        collected: _Collected,
        endpoint: str,
        number: int,
        page: Page,
    ) -> bool:
        """False when links.next points at this page or an earlier one (reported once)."""
        if page.next_page is None or page.next_page > number:
            return True
        if collected.first_loop(endpoint):
            builder.fail(
                CollectionError(
                    "invalid_response",
                    endpoint,
                    f"pagination loops: links.next of page {number} points back at page "
                    f"{page.next_page}",
                )
            )
        return False


def _parse_unique(
    builder: SnapshotBuilder,
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
            builder.fail(CollectionError("invalid_response", endpoint, str(error)))
            continue
        if item.name in seen_names:
            builder.fail(
                CollectionError(
                    "invalid_response", endpoint, f"name {item.name[:60]!r} is used twice"
                )
            )
            continue
        seen_names.add(item.name)
        parsed.append(item)
    return parsed


def _with_pool_names(
    builder: SnapshotBuilder,
    groups: list[SharedCapacityGroup],
    pools: list[CapacityPool],
    did_counts: dict[str, int],
) -> list[tuple[SharedCapacityGroup, str]]:
    """Each group with its DID count and its pool's name ("" when it has no pool).

    A group linked to a pool that is not among the pools is left out: exporting it with
    pool="" would hide an inconsistent answer.
    """
    pool_names = {pool.pool_id: pool.name for pool in pools}
    named: list[tuple[SharedCapacityGroup, str]] = []
    for group in groups:
        if group.pool_id is not None and group.pool_id not in pool_names:
            builder.fail(
                CollectionError(
                    "invalid_response",
                    SHARED_CAPACITY_GROUPS,
                    f"group {group.group_id} links to capacity pool {group.pool_id[:60]!r}, "
                    "which is not among the pools",
                )
            )
            continue
        count = did_counts.get(group.group_id, -1)
        group = replace(group, dids=count if count >= 0 else None)
        named.append((group, pool_names.get(group.pool_id, "") if group.pool_id else ""))
    return named


def _announced_last_page(first: Page) -> int | None:
    """How many pages the collection has, from `links.last` or `meta.total_records`."""
    if first.next_page is None:
        return 1
    if first.last_page is not None:
        return first.last_page
    if first.total_records is not None and first.data:
        return math.ceil(first.total_records / len(first.data))
    return None
