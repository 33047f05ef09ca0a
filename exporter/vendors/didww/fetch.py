"""Fetching one snapshot of a DIDWW account: the balance, pools, shared capacity groups, DID
counts, voice-in trunks and trunk groups, voice-out trunks.

DIDWW allows 10 requests/s per API key, shared with the customer's own tools. So each kind of
data is read at its own pace (`refresh:`), and each collection plans its calls inside the
account's call budget (`exporter.core.budget`), most important first:

1. the balance (every scrape by default: one request);
2. kinds never read (pools, groups, trunks), then DID counts never read;
3. at most one kind past its interval (the stalest), so that no scrape reads them all;
4. DID counts past their interval, in turns sized so that each is read about once per
   `refresh.did_counts`.

A kind is read whole, every page in one collection, so that what is served is one consistent
answer; a kind the budget cannot finish is not kept, and the last complete one is served.
What the budget defers is served from before with its age, or, never read, counted as pending:
not an error.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from exporter.core.budget import CallBudget, CollectionClock, Throttle, refresh_share
from exporter.core.collection import CollectionPlan, Run, collect
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.kept import KeptAnswers
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

BALANCE, POOLS, GROUPS, TRUNKS, DID_COUNTS = "balance", "pools", "groups", "trunks", "did_counts"
# Each kind read in pages, and its endpoints with what each includes.
KIND_ENDPOINTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    POOLS: ((CAPACITY_POOLS, None),),
    GROUPS: ((SHARED_CAPACITY_GROUPS, "capacity_pool"),),
    TRUNKS: (
        (VOICE_IN_TRUNKS, VOICE_IN_TRUNKS_INCLUDE),
        (VOICE_IN_TRUNK_GROUPS, None),
        (VOICE_OUT_TRUNKS, None),
    ),
}
KIND_OF = {endpoint: kind for kind, pairs in KIND_ENDPOINTS.items() for endpoint, _ in pairs}


@dataclass(frozen=True)
class KindRead:
    """Every page of one kind, as one complete read."""

    pages: Mapping[str, tuple[Page, ...]]  # by endpoint, in page order
    outbound_enabled: bool | None = None  # trunks only: None when /voice_out_trunks failed

    @property
    def calls(self) -> int:
        return max(1, sum(len(pages) for pages in self.pages.values()))


class _Collected:
    """What one collection reads, from concurrent tasks, and what it may still spend."""

    def __init__(self, budget: CallBudget, period: float) -> None:
        self.budget = budget
        self.period = period
        self._lock = threading.Lock()
        self.reading: set[str] = set()  # kinds read in this collection
        # Kinds read for the first time: until every page of theirs is paid for (their
        # endpoints "settled"), the DID counts of the groups seen wait, so that they never take
        # the calls those pages need.
        self.first_reads: set[str] = set()
        self._settled: set[str] = set()
        self._waiting_counts: list[str] = []
        self.pages: dict[str, dict[int, Page]] = {endpoint: {} for endpoint in KIND_OF}
        self.outbound_enabled: bool | None = None  # None: /voice_out_trunks did not answer
        self._prepaid: dict[str, int] = {}
        self._failed: set[str] = set()  # kinds a call of failed
        self._cut: set[str] = set()  # kinds the budget could not finish
        self._looped: set[str] = set()

    def read_kind(self, kind: str, calls: int) -> bool:
        """Plan reading `kind` whole, with `calls` paid now; False when they do not fit."""
        if not self.budget.take(calls):
            return False
        with self._lock:
            self.reading.add(kind)
            self._prepaid[kind] = calls
        return True

    def pay_page(self, endpoint: str) -> bool:
        """A call for a page of `endpoint`: paid at planning, or from the budget now. A kind
        the budget cannot finish is incomplete: not kept, and the last complete one served."""
        kind = KIND_OF[endpoint]
        with self._lock:
            if self._prepaid.get(kind, 0) > 0:
                self._prepaid[kind] -= 1
                return True
        if self.budget.take():
            return True
        with self._lock:
            self._cut.add(kind)
        return False

    def mark_failed(self, endpoint: str) -> None:
        with self._lock:
            self._failed.add(KIND_OF[endpoint])

    def failed(self, endpoint: str) -> bool:
        with self._lock:
            return KIND_OF[endpoint] in self._failed

    def deadline_missed(self) -> None:
        """Work was left at the deadline: no kind read in this collection is known whole."""
        with self._lock:
            self._failed |= self.reading

    def complete(self, kind: str) -> bool:
        with self._lock:
            return kind in self.reading and kind not in self._failed | self._cut

    def cut(self, kind: str) -> bool:
        """The budget ran out before the kind's last page: deferred, not failed."""
        with self._lock:
            return kind in self._cut and kind not in self._failed

    def counts_to_read(self, group_ids: list[str]) -> list[str]:
        """`group_ids` to count now, or none while a kind read for the first time still has
        pages to pay for (they wait, and are handed over by `settle`)."""
        with self._lock:
            if self._all_settled():
                return group_ids
            self._waiting_counts += group_ids
            return []

    def settle(self, endpoint: str) -> list[str]:
        """Every page of `endpoint` this collection reads is paid for; once all the first
        reads' are, the DID counts that waited."""
        with self._lock:
            self._settled.add(endpoint)
            if not self._all_settled():
                return []
            waiting, self._waiting_counts = self._waiting_counts, []
            return waiting

    def _all_settled(self) -> bool:
        return all(
            endpoint in self._settled
            for kind in self.first_reads
            for endpoint, _ in KIND_ENDPOINTS[kind]
        )

    def add_page(self, endpoint: str, number: int, page: Page) -> None:
        with self._lock:
            self.pages[endpoint][number] = page

    def page_count(self, endpoint: str) -> int:
        with self._lock:
            return len(self.pages[endpoint])

    def first_loop(self, endpoint: str) -> bool:
        """True the first time a pagination loop is seen on `endpoint`."""
        with self._lock:
            first = endpoint not in self._looped
            self._looped.add(endpoint)
            return first

    def set_outbound_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.outbound_enabled = enabled

    def read_of(self, kind: str) -> KindRead:
        with self._lock:
            pages = {
                endpoint: tuple(self.pages[endpoint][n] for n in sorted(self.pages[endpoint]))
                for endpoint, _ in KIND_ENDPOINTS[kind]
            }
            return KindRead(pages, self.outbound_enabled if kind == TRUNKS else None)


_Run = Run[_Collected]


class DidwwFetcher:
    """Collects snapshots of one DIDWW account; owns its client, the data it keeps between
    collections, and its call budget's rate."""

    def __init__(self, target: DidwwTarget, telemetry: Telemetry) -> None:
        self._target = target
        self._throttle = Throttle(target.rate_limit, target.max_concurrency)
        self._clock = CollectionClock()
        self._client = DidwwClient(target, telemetry, observer=self._throttle)
        refresh = target.refresh
        self._kinds: dict[str, KeptAnswers[str, KindRead]] = {
            kind: KeptAnswers(getattr(refresh, kind)) for kind in KIND_ENDPOINTS
        }
        self._balance: KeptAnswers[str, AccountBalance] = KeptAnswers(refresh.balance)
        self._did_counts: KeptAnswers[str, int] = KeptAnswers(refresh.did_counts)
        self._intervals = {
            kind: getattr(refresh, kind) for kind in (BALANCE, *KIND_ENDPOINTS, DID_COUNTS)
        }

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        budget = self._throttle.budget(deadline)
        plan = CollectionPlan(
            target=self._target.name,
            up=UP_FAMILIES,
            max_concurrency=self._target.max_concurrency,
            workers=f"didww-{self._target.name}",
            state=_Collected(budget, self._clock.tick()),
            start=self._start,
            finish=self._finish,
            redact=self._client.redactor,
        )
        snapshot = collect(plan, deadline)
        self._throttle.collection_ended()
        return snapshot

    def _start(self, run: _Run) -> None:
        """Plan this collection's calls, the most important first."""
        refresh = self._target.refresh
        run.builder.note_intervals(self._intervals)
        if self._balance.is_stale(BALANCE):
            run.state.budget.spend(1)
            run.submit(TARGET, self._collect_balance)
        unread = [kind for kind, kept in self._kinds.items() if kept.last(kind) is None]
        # Only a kind actually read holds the DID counts back until it is paid for; all are
        # known before any of their tasks runs.
        first = [kind for kind in unread if run.state.read_kind(kind, len(KIND_ENDPOINTS[kind]))]
        run.state.first_reads.update(first)
        for kind in first:
            self._read_kind(run, kind)
        groups = self._known_group_ids()
        self._count_dids(run, [g for g in groups if self._did_counts.last(g) is None])
        stale = [
            (last.fetched_at, kind, last.value.calls)
            for kind, kept in self._kinds.items()
            if kept.is_stale(kind) and (last := kept.last(kind)) is not None
        ]
        # One stale kind per collection: after a cold start they fall due at different scrapes.
        for _, kind, calls in sorted(stale)[:1]:
            if run.state.read_kind(kind, calls):
                self._read_kind(run, kind)
        share = refresh_share(len(groups), refresh.did_counts, run.state.period)
        self._count_dids(run, self._did_counts.due(groups, run.state.period, share))

    def _known_group_ids(self) -> list[str]:
        kept = self._kinds[GROUPS].last(GROUPS)
        if kept is None:
            return []
        return [r.id for page in kept.value.pages[SHARED_CAPACITY_GROUPS] for r in page.data]

    def _read_kind(self, run: _Run, kind: str) -> None:
        for endpoint, include in KIND_ENDPOINTS[kind]:
            if endpoint == VOICE_OUT_TRUNKS:
                run.submit(TARGET, self._collect_voice_out_trunks)
            else:
                run.submit(TARGET, self._collect_collection, endpoint, include)

    def _count_dids(self, run: _Run, group_ids: list[str]) -> None:
        for group_id in group_ids:
            if run.state.budget.claim((DID_COUNTS, group_id)):
                run.submit(TARGET, self._count_group_dids, group_id)

    def _finish(self, run: _Run, finished: bool) -> None:
        if not finished:
            # The account is rendered whole from what arrived: with work left at the deadline
            # some of it is missing, whichever task it was and whenever it ends, and nothing
            # read in this collection is kept as a complete read.
            run.state.deadline_missed()
            run.builder.fail(CollectionError("timeout", "", "unfinished at the deadline"))
        # What arrived is kept even when the deadline came first.
        run.builder.run(TARGET, self._keep_account, run.builder, run.state)

    def _collect_balance(self, run: _Run) -> None:
        self._balance.keep(BALANCE, self._client.fetch_balance(run.deadline))

    def _collect_collection(self, run: _Run, endpoint: str, include: str | None) -> None:
        if not run.state.pay_page(endpoint):
            return
        first = self._fetch_page(run, endpoint, 1, include)
        self._collect_other_pages(run, endpoint, include, first)

    def _fetch_page(self, run: _Run, endpoint: str, number: int, include: str | None) -> Page:
        """A page; a failed call leaves its kind incomplete (the last complete one is served)."""
        try:
            return self._client.fetch_page(endpoint, number, run.deadline, include)
        except UpstreamError:
            run.state.mark_failed(endpoint)
            raise

    def _collect_voice_out_trunks(self, run: _Run) -> None:
        if not run.state.pay_page(VOICE_OUT_TRUNKS):
            return
        try:
            first = self._client.fetch_voice_out_trunks_page(1, run.deadline)
        except UpstreamError:
            run.state.mark_failed(VOICE_OUT_TRUNKS)
            raise
        run.state.set_outbound_enabled(first is not None)
        if first is None:
            self._count_dids(run, run.state.settle(VOICE_OUT_TRUNKS))
            return
        self._collect_other_pages(run, VOICE_OUT_TRUNKS, None, first)

    def _collect_other_pages(
        self, run: _Run, endpoint: str, include: str | None, first: Page
    ) -> None:
        """Keep the first page, then fetch the rest: concurrently when their number is known.
        The pages are paid for before the first is kept, so that the DID counts it starts
        never take the calls its own kind still needs."""
        last = _announced_last_page(first)
        if last is None:
            self._follow_next_links(run, endpoint, include, first)
            return
        self._warn_if_next_link_goes_back(run.state, endpoint, 1, first)
        if last > MAX_PAGES:
            run.state.mark_failed(endpoint)
            run.builder.fail(
                CollectionError(
                    "invalid_response", endpoint, f"{last} pages announced, reading {MAX_PAGES}"
                )
            )
        paid = []
        for number in range(2, min(last, MAX_PAGES) + 1):
            if not run.state.pay_page(endpoint):
                break
            paid.append(number)
        waited = run.state.settle(endpoint)
        self._keep_page(run, endpoint, 1, first)
        self._count_dids(run, waited)
        for number in paid:
            run.submit(TARGET, self._collect_page, endpoint, include, number)

    def _collect_page(self, run: _Run, endpoint: str, include: str | None, number: int) -> None:
        if run.state.failed(endpoint):
            return  # its kind cannot be kept whole (a page failed, or did not fit): no call
        page = self._fetch_page(run, endpoint, number, include)
        self._keep_page(run, endpoint, number, page)
        self._warn_if_next_link_goes_back(run.state, endpoint, number, page)

    def _keep_page(self, run: _Run, endpoint: str, number: int, page: Page) -> None:
        """Keep a page; a page of groups also counts the DIDs of groups never counted, once the
        kinds read for the first time have every page paid for."""
        for problem in page.problems:
            run.builder.fail(CollectionError("invalid_response", endpoint, problem))
        run.state.add_page(endpoint, number, page)
        if endpoint == SHARED_CAPACITY_GROUPS:
            uncounted = [r.id for r in page.data if self._did_counts.last(r.id) is None]
            self._count_dids(run, run.state.counts_to_read(uncounted))

    def _count_group_dids(self, run: _Run, group_id: str) -> None:
        self._did_counts.keep(group_id, self._client.count_dids(group_id, run.deadline))

    def _follow_next_links(self, run: _Run, endpoint: str, include: str | None, page: Page) -> None:
        """One page at a time, each paid for before the one in hand is kept."""
        number, current = 1, page
        while True:
            follow = current.next_page is not None and self._next_link_moves_forward(
                run.builder, run.state, endpoint, number, current
            )
            if follow and run.state.page_count(endpoint) + 1 >= MAX_PAGES:
                run.state.mark_failed(endpoint)
                run.builder.fail(
                    CollectionError("invalid_response", endpoint, f"more than {MAX_PAGES} pages")
                )
                follow = False
            paid = follow and run.state.pay_page(endpoint)
            waited = [] if paid else run.state.settle(endpoint)
            self._keep_page(run, endpoint, number, current)
            self._count_dids(run, waited)
            if not paid or current.next_page is None:
                return
            number = current.next_page
            current = self._fetch_page(run, endpoint, number, include)

    def _kind_served(self, builder: SnapshotBuilder, collected: _Collected, kind: str) -> KindRead:
        """This collection's complete read of `kind` (kept for the next), else the last
        complete one with its age, else whatever arrived (nothing: pending). A read whose
        pages contradict what they announce is a truncated answer: an error, and not kept, so
        the next collection reads it again."""
        if collected.complete(kind):
            read = collected.read_of(kind)
            contradictions = _contradictions(read)
            for error in contradictions:
                builder.fail(error)
            if not contradictions:
                self._kinds[kind].keep(kind, read)
                builder.note_age(kind, 0.0)
                return read
            if self._kinds[kind].last(kind) is None:
                return read
        last = self._kinds[kind].last(kind)
        if last is not None:
            builder.note_age(kind, last.age())
            # What was wrong with it is still wrong while it is what is served.
            for endpoint, pages in last.value.pages.items():
                for page in pages:
                    for problem in page.problems:
                        builder.fail(CollectionError("invalid_response", endpoint, problem))
            return last.value
        if kind not in collected.reading or collected.cut(kind):
            builder.note_pending(kind)
            return KindRead({endpoint: () for endpoint, _ in KIND_ENDPOINTS[kind]})
        # A failed read (an error of this collection already): what arrived is still shown.
        return collected.read_of(kind)

    def _keep_account(self, builder: SnapshotBuilder, collected: _Collected) -> None:
        """Parse what is served (read now, or kept) into the account's one part."""
        pool_read = self._kind_served(builder, collected, POOLS)
        group_read = self._kind_served(builder, collected, GROUPS)
        trunk_read = self._kind_served(builder, collected, TRUNKS)
        pool_pages = pool_read.pages[CAPACITY_POOLS]
        group_pages = group_read.pages[SHARED_CAPACITY_GROUPS]
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
        balance = self._served_balance(builder)
        if balance is not None and balance.api_version:
            versions.append(balance.api_version)
        trunks, problems = build_trunks(
            TrunkPages(
                voice_in_trunks=list(trunk_read.pages[VOICE_IN_TRUNKS]),
                voice_in_trunk_groups=list(trunk_read.pages[VOICE_IN_TRUNK_GROUPS]),
                voice_out_trunks=list(trunk_read.pages[VOICE_OUT_TRUNKS]),
                outbound_enabled=trunk_read.outbound_enabled,
            )
        )
        for problem in problems:
            builder.fail(CollectionError("invalid_response", problem.endpoint, problem.detail))
        data = AccountData(
            pools=pools,
            groups=_with_pool_names(
                builder, groups, pools, self._did_counts_served(builder, collected, groups)
            ),
            balance=balance,
            api_version=versions[0] if versions else None,
            trunks=trunks,
        )
        builder.add_part(Part(TARGET, (), account_lines(self._target.name, data)))
        if self._kinds[GROUPS].last(GROUPS) is not None:
            builder.note_names("capacity_group", [(group.name,) for group, _pool in data.groups])
        if self._kinds[TRUNKS].last(TRUNKS) is not None:
            builder.note_names("voice_in_trunk", [(t.name,) for t in trunks.voice_in_trunks])
        builder.count("pools", len(data.pools))
        builder.count("capacity groups", len(data.groups))
        builder.count("voice-in trunks", len(trunks.voice_in_trunks))
        builder.count("voice-out trunks", len(trunks.voice_out_trunks))

    def _served_balance(self, builder: SnapshotBuilder) -> AccountBalance | None:
        kept = self._balance.last(BALANCE)
        if kept is None:
            return None
        builder.note_age(BALANCE, kept.age())
        return kept.value

    def _did_counts_served(
        self, builder: SnapshotBuilder, collected: _Collected, groups: list[SharedCapacityGroup]
    ) -> dict[str, int]:
        """Each group's last count, with the oldest one's age; groups never counted are
        pending (no sample)."""
        counts: dict[str, int] = {}
        for group in groups:
            kept = self._did_counts.last(group.group_id)
            if kept is None:
                builder.note_pending(DID_COUNTS)
                continue
            builder.note_age(DID_COUNTS, kept.age())
            counts[group.group_id] = kept.value
        if collected.complete(GROUPS):  # groups gone from a complete read are gone
            self._did_counts.forget(
                set(self._did_counts.known()) - {group.group_id for group in groups}
            )
        return counts

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
            collected.mark_failed(endpoint)
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
        group = replace(group, dids=did_counts.get(group.group_id))
        named.append((group, pool_names.get(group.pool_id, "") if group.pool_id else ""))
    return named


def _contradictions(read: KindRead) -> list[CollectionError]:
    """What a complete read's pages announce that they do not hold: 12,000 records announced
    and one page without `next` is not a small account but a truncated answer. Records may
    come and go while the pages are read, so the count read must match what some page
    announced, and `links.last` the pages read."""
    errors = []
    for endpoint, pages in read.pages.items():
        if not pages:
            continue
        records = sum(page.records for page in pages)
        announced = {page.total_records for page in pages if page.total_records is not None}
        if announced and records not in announced:
            errors.append(
                CollectionError(
                    "invalid_response",
                    endpoint,
                    f"meta.total_records announces {max(announced)} records, "
                    f"{len(pages)} pages hold {records}",
                )
            )
        last = pages[0].last_page
        if last is not None and last != len(pages):
            errors.append(
                CollectionError(
                    "invalid_response",
                    endpoint,
                    f"links.last announces {last} pages, {len(pages)} were read",
                )
            )
    return errors


def _announced_last_page(first: Page) -> int | None:
    """How many pages the collection has, from `links.last` or `meta.total_records`."""
    if first.next_page is None:
        return 1
    if first.last_page is not None:
        return first.last_page
    if first.total_records is not None and first.data:
        return math.ceil(first.total_records / len(first.data))
    return None
