"""Fetching one snapshot of an Odin target: log in, find the SPs, then read what is due.

Each collection plans its calls inside the target's call budget (`exporter.core.budget`), most
important first:

1. reports never read (an SP just configured or discovered);
2. hot trunk groups (near their limit, or climbing fast toward it): every collection;
3. trunk-group lists and details never read;
4. the other trunk groups, the stalest first: every one that would be older than
   `refresh.trunk_group_details` by the next collection, and at least a steady share
   (`refresh_share`), so that trunk groups read together drift apart;
5. reports and lists likewise, within their `refresh` intervals.

What the budget defers is served from an earlier collection with its age, or, never read yet,
counted as pending: not an error. What an answer newly makes known (a new group's list, a new
trunk group's detail) is read in the same collection while budget is left.

Every call runs on the target's bounded worker pool; each answer is rendered into exposition
lines by the worker that received it. A service provider is the scope of its report and of its
trunk groups' calls: any of them failing makes that SP down; what arrived is kept.

Standing facts are not failures: an SP whose report answers 400 with Odin's own words for it
(error 4500, "Trunk Group service is not authorized") has no Trunk Group service
(`odin_service_provider_trunking_enabled 0`), and a group whose trunk-group list answers so
has no trunk groups. Each is logged once, when it is first seen. Any other 400 is a failure.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from exporter.core.budget import CallBudget, CollectionClock, Throttle, refresh_share
from exporter.core.collection import CollectionPlan, Run, collect
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.kept import KeptAnswers
from exporter.core.snapshot import TARGET, CollectionError, Part, Snapshot
from exporter.core.telemetry import Telemetry
from exporter.vendors.odin.client import (
    CALL_CAPACITY_REPORT,
    SERVICE_PROVIDERS,
    TRUNK_GROUPS,
    OdinClient,
)
from exporter.vendors.odin.config import OdinTarget
from exporter.vendors.odin.metrics import (
    UP_FAMILIES,
    discovery_lines,
    no_trunking_lines,
    report_lines,
    trunk_group_lines,
)
from exporter.vendors.odin.models import Names, TrunkCallCapacityReport
from exporter.vendors.odin.refresh import (
    REPORTS,
    TRUNK_GROUP_DETAILS,
    TRUNK_GROUP_LISTS,
    KeptDetail,
    KeptReport,
    is_hot,
    live_calls,
    near_cap,
)

log = logging.getLogger(__name__)

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

# BroadWorks' error 4500, or its words: "Trunk Group service is not authorized for <id>".
_NO_TRUNK_GROUP_SERVICE = re.compile(
    r"\[Error 4500\]|Trunk Group service (is )?not (authori[sz]ed|assigned)", re.IGNORECASE
)
GroupKey = tuple[str, str]  # (service provider, group)
DetailKey = tuple[str, str, str]  # (service provider, group, trunk group)


class StandingFacts:
    """SPs and groups Odin has said have no trunking, to log each fact once, not per scrape."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._seen: set[tuple[str, ...]] = set()

    def note(self, fact: tuple[str, ...], message: str, **fields: str) -> None:
        with self._lock:
            if fact in self._seen:
                return
            self._seen.add(fact)
        log.info(message, extra={"target": self._target, **fields})

    def forget(self, fact: tuple[str, ...]) -> None:
        with self._lock:
            self._seen.discard(fact)


@dataclass
class _Collection:
    """What one collection may spend (set once login and discovery are done: it plans the time
    left then), and how long after the previous one it began."""

    budget: CallBudget
    period: float


_Run = Run[_Collection]


@dataclass(frozen=True)
class _Call:
    kind: str
    key: Hashable
    scope: str  # the SP
    task: Callable[..., None]
    args: tuple[Any, ...]
    kept: KeptAnswers[Any, Any]  # where the answer is kept
    slim: Callable[[Any], Any] | None  # what of it to let go while it is read at refresh 0s


class OdinFetcher:
    """Collects snapshots of one Odin target; owns its client (token, connections), the
    answers it keeps between collections, and its call budget's rate."""

    def __init__(self, target: OdinTarget, telemetry: Telemetry) -> None:
        self._target = target
        if not target.trunk_groups:
            log.warning(
                "trunk_groups is off: no live calls are read, so the saturation alerts "
                "(TrunkCapacityServiceProviderSaturated and the others) can never fire for "
                "this target",
                extra={"target": target.name},
            )
        self._throttle = Throttle(target.rate_limit, target.max_concurrency)
        self._clock = CollectionClock()
        self._client = OdinClient(target, telemetry, observer=self._throttle)
        self._facts = StandingFacts(target.name)
        refresh = target.refresh
        self._intervals = {REPORTS: refresh.reports}
        if target.trunk_groups:
            self._intervals[TRUNK_GROUP_LISTS] = refresh.trunk_group_lists
            self._intervals[TRUNK_GROUP_DETAILS] = refresh.trunk_group_details
        self._reports: KeptAnswers[str, KeptReport] = KeptAnswers(target.refresh.reports)
        self._lists: KeptAnswers[GroupKey, Names] = KeptAnswers(target.refresh.trunk_group_lists)
        self._details: KeptAnswers[DetailKey, KeptDetail] = KeptAnswers(
            target.refresh.trunk_group_details
        )

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        state = _Collection(CallBudget(0), self._clock.tick())
        plan = CollectionPlan(
            target=self._target.name,
            up=UP_FAMILIES,
            max_concurrency=self._target.max_concurrency,
            workers=f"odin-{self._target.name}",
            state=state,
            start=lambda run: run.submit(TARGET, self._discover),
            redact=self._client.redactor,
        )
        snapshot = collect(plan, deadline)
        self._throttle.collection_ended()
        return snapshot

    def _discover(self, run: _Run) -> None:
        """Log in, find the SPs, plan what this collection reads, and serve the rest."""
        run.builder.note_intervals(self._intervals)
        service_providers = self._service_providers(run)
        run.state.budget = self._throttle.budget(run.deadline)
        wanted = set(service_providers)
        for kept in (self._reports, self._lists, self._details):
            kept.retain(wanted)
        groups = self._known_groups(service_providers)
        details = self._known_trunk_groups(service_providers, groups)
        self._note_names(run, service_providers, groups, details)
        calls = self._plan(run, service_providers, groups, details)
        planned = [call for call in calls if run.state.budget.claim((call.kind, call.key))]
        for call in planned:
            if call.slim is not None:
                call.kept.reading([call.key], call.slim)
        read = {call.scope for call in planned if call.kind == REPORTS}
        expected = [sp for sp in service_providers if sp in read or self._has_report(sp)]
        if service_providers and not expected:
            # Nothing to serve and no time to read anything: blind, not an empty account.
            run.builder.fail(
                CollectionError(
                    "timeout", CALL_CAPACITY_REPORT, "no time left to read any SP's report"
                )
            )
        run.builder.expect(expected)
        for call in planned:
            run.submit(call.scope, call.task, *call.args)
        self._serve_unplanned(run, service_providers, groups, details)

    def _service_providers(self, run: _Run) -> list[str]:
        self._client.log_in(run.deadline)
        if not self._target.discover:
            return list(self._target.service_providers)
        discovered = self._client.list_service_providers(run.deadline)
        # Exported even at 0: an Odin that lists nothing is up, and only this series shows it.
        lines = discovery_lines(self._target.name, len(discovered.names))
        run.builder.add_part(Part(TARGET, ("discovery",), lines))
        for problem in discovered.problems:
            run.builder.fail(CollectionError("invalid_response", SERVICE_PROVIDERS, problem))
        return [sp for sp in discovered.names if self._target.wants_service_provider(sp)]

    def _note_names(
        self,
        run: _Run,
        service_providers: list[str],
        groups: list[GroupKey],
        details: list[DetailKey],
    ) -> None:
        """The SPs and trunk groups that links are checked against; trunk groups only once
        every SP's report and every group's list has been read."""
        run.builder.note_names("service_provider", [(sp,) for sp in service_providers])
        everything_listed = all(self._reports.last(sp) is not None for sp in service_providers)
        everything_listed &= all(self._lists.last(key) is not None for key in groups)
        if self._target.trunk_groups and everything_listed:
            run.builder.note_names("trunk_group", [(sp, name) for sp, _group, name in details])

    def _known_groups(self, service_providers: list[str]) -> list[GroupKey]:
        """The groups whose trunk-group lists are read, as the kept reports tell."""
        if not self._target.trunk_groups:
            return []
        groups: list[GroupKey] = []
        for sp in service_providers:
            kept = self._reports.last(sp)
            if kept is not None:
                groups += [(sp, group) for group in kept.value.trunk_group_groups]
        return groups

    def _known_trunk_groups(
        self, service_providers: list[str], groups: list[GroupKey]
    ) -> list[DetailKey]:
        """Every trunk group the kept lists (and the older report shape's rows) name."""
        if not self._target.trunk_groups:
            return []
        known: list[DetailKey] = []
        for sp, group in groups:
            listing = self._lists.last((sp, group))
            if listing is not None:
                known += [(sp, group, name) for name in listing.value.names]
        for sp in service_providers:
            kept = self._reports.last(sp)
            if kept is not None:
                known += [(sp, group, name) for group, name in kept.value.legacy_trunk_groups]
        return known

    def _plan(
        self,
        run: _Run,
        service_providers: list[str],
        groups: list[GroupKey],
        details: list[DetailKey],
    ) -> list[_Call]:
        """Every call this collection would like to make, the most important first."""
        period, refresh = run.state.period, self._target.refresh
        unread_reports = [sp for sp in service_providers if not self._has_report(sp)]
        hot: list[DetailKey] = []
        cold: list[DetailKey] = []
        crowded = self._near_their_caps(details)
        for key in details:
            kept = self._details.last(key)
            hot_itself = kept is not None and kept.value.hot
            (hot if hot_itself or key[0] in crowded or key[:2] in crowded else cold).append(key)
        unread_lists = [key for key in groups if self._lists.last(key) is None]
        unread_details = [key for key in cold if not self._has_detail(key)]
        stale_details = self._details.due(
            cold, period, refresh_share(len(cold), refresh.trunk_group_details, period)
        )
        stale_reports = self._reports.due(
            service_providers,
            period,
            refresh_share(len(service_providers), refresh.reports, period),
        )
        stale_lists = self._lists.due(
            groups, period, refresh_share(len(groups), refresh.trunk_group_lists, period)
        )
        return [
            *(self._report_call(sp) for sp in unread_reports),
            *(self._detail_call(key) for key in hot),
            *(self._list_call(key) for key in unread_lists),
            *(self._detail_call(key) for key in unread_details),
            *(self._detail_call(key) for key in stale_details),
            *(self._report_call(sp) for sp in stale_reports),
            *(self._list_call(key) for key in stale_lists),
        ]

    def _near_their_caps(self, details: list[DetailKey]) -> set[str | GroupKey]:
        """The SPs and groups whose trunk groups' last live calls add up to near their cap:
        all their trunk groups are read on every collection, since a sum of fresh and old
        counts could hide an SP or group at its cap from its alert."""
        calls: defaultdict[str | GroupKey, float] = defaultdict(float)
        for key in details:
            kept = self._details.last(key)
            if kept is not None:
                calls[key[0]] += kept.value.calls
                calls[key[:2]] += kept.value.calls
        crowded: set[str | GroupKey] = set()
        for sp in {key[0] for key in details}:
            report = self._reports.last(sp)
            if report is None:
                continue
            caps: list[tuple[str | GroupKey, float | None]] = [(sp, report.value.call_limit)]
            caps += [((sp, g), cap) for g, cap in report.value.group_call_limits.items()]
            crowded.update(key for key, cap in caps if near_cap(calls[key], cap))
        return crowded

    def _has_report(self, sp: str) -> bool:
        """A report to serve: kept, with its lines (not let go for a read that then failed)."""
        kept = self._reports.last(sp)
        return kept is not None and kept.value.part is not None

    def _has_detail(self, key: DetailKey) -> bool:
        kept = self._details.last(key)
        return kept is not None and kept.value.part is not None

    def _report_call(self, sp: str) -> _Call:
        return _Call(
            REPORTS, sp, sp, self._collect_report, (sp,), self._reports, KeptReport.without_lines
        )

    def _list_call(self, key: GroupKey) -> _Call:
        return _Call(
            TRUNK_GROUP_LISTS, key, key[0], self._collect_trunk_group_names, key, self._lists, None
        )

    def _detail_call(self, key: DetailKey) -> _Call:
        return _Call(
            TRUNK_GROUP_DETAILS,
            key,
            key[0],
            self._collect_trunk_group_detail,
            key,
            self._details,
            KeptDetail.without_lines,
        )

    def _serve_unplanned(
        self,
        run: _Run,
        service_providers: list[str],
        groups: list[GroupKey],
        details: list[DetailKey],
    ) -> None:
        """What this collection does not read is served from before, with its age; what was
        never read is pending."""
        for sp in service_providers:
            report = self._served_unread(run, REPORTS, self._reports, sp, _has_lines)
            if report is None:
                continue
            self._serve_report(run, sp, report)
            for problem in report.problems:  # still wrong while it is what is served
                run.builder.fail(
                    CollectionError("invalid_response", CALL_CAPACITY_REPORT, problem, sp)
                )
        for detail_key in details:
            detail = self._served_unread(
                run, TRUNK_GROUP_DETAILS, self._details, detail_key, _has_lines
            )
            if detail is not None and detail.part is not None:
                run.builder.add_part(detail.part)
                run.builder.count("trunk groups")
        for group_key in groups:
            listing = self._served_unread(run, TRUNK_GROUP_LISTS, self._lists, group_key)
            for problem in listing.problems if listing is not None else ():
                run.builder.fail(
                    CollectionError("invalid_response", TRUNK_GROUPS, problem, group_key[0])
                )

    @staticmethod
    def _served_unread(
        run: _Run,
        kind: str,
        answers: KeptAnswers[Key, Value],
        key: Key,
        servable: Callable[[Value], bool] = lambda _: True,
    ) -> Value | None:
        """The kept answer served for `key` when this collection does not read it, its age
        noted; None when the collection reads it, or when it was never read (pending)."""
        if run.state.budget.claimed((kind, key)):
            return None
        kept = answers.last(key)
        if kept is None or not servable(kept.value):
            run.builder.note_pending(kind)
            return None
        run.builder.note_age(kind, kept.age())
        return kept.value

    def _collect_report(self, run: _Run, service_provider: str) -> None:
        try:
            report = self._client.fetch_trunk_call_capacity_report(service_provider, run.deadline)
        except UpstreamError as error:
            if _odin_says_no(error):
                self._no_trunking(run, service_provider, error)
                return
            self._serve_last_report(run, service_provider)
            raise
        self._facts.forget(("sp", service_provider))
        for problem in report.problems:
            run.builder.fail(
                CollectionError("invalid_response", CALL_CAPACITY_REPORT, problem, service_provider)
            )
        kept = _kept_report(self._target.name, report)
        self._forget_groups_gone(service_provider, kept)
        self._reports.keep(service_provider, kept)
        run.builder.note_age(REPORTS, 0.0)
        self._serve_report(run, service_provider, kept)
        self._read_new_trunk_groups(run, service_provider, kept)

    def _forget_groups_gone(self, service_provider: str, kept: KeptReport) -> None:
        groups = set(kept.trunk_group_groups)
        legacy = set(kept.legacy_trunk_groups)
        self._lists.forget(
            key
            for key in self._lists.known()
            if key[0] == service_provider and key[1] not in groups
        )
        self._details.forget(
            key
            for key in self._details.known()
            if key[0] == service_provider
            and key[1] not in groups
            and (key[1], key[2]) not in legacy
        )

    def _no_trunking(self, run: _Run, service_provider: str, error: UpstreamError) -> None:
        """Odin's definite "no": a standing fact, kept like a report."""
        self._facts.note(
            ("sp", service_provider),
            f"service provider has no Trunk Group service ({error.detail})",
            service_provider=service_provider,
        )
        lines = no_trunking_lines(self._target.name, service_provider)
        kept = KeptReport(Part(service_provider, (), lines), False, 0, (), ())
        self._forget_groups_gone(service_provider, kept)
        self._reports.keep(service_provider, kept)
        run.builder.note_age(REPORTS, 0.0)
        self._serve_report(run, service_provider, kept)

    def _serve_last_report(self, run: _Run, service_provider: str) -> None:
        """Beside a failed refresh (which downs the SP), the last good report, with its age.
        It is not the SP's answer of this collection: with every refresh failing, odin_up is 0
        whatever is served from before."""
        last = self._reports.last(service_provider)
        if last is not None and last.value.part is not None:
            run.builder.note_age(REPORTS, last.age())
            self._serve_report(run, service_provider, last.value, answered=False)

    def _serve_report(
        self, run: _Run, service_provider: str, kept: KeptReport, answered: bool = True
    ) -> None:
        if kept.part is not None:
            run.builder.add_part(kept.part, main=answered)
        run.builder.count("service providers" if kept.trunking else "without trunking")
        run.builder.count("groups", kept.groups)

    def _read_new_trunk_groups(self, run: _Run, service_provider: str, kept: KeptReport) -> None:
        """A report read in this collection may name groups and trunk groups not known before:
        read them while budget is left, else they are pending."""
        if not self._target.trunk_groups:
            return
        lists = [
            (service_provider, group)
            for group in kept.trunk_group_groups
            if self._lists.last((service_provider, group)) is None
        ]
        details = [
            (service_provider, group, name)
            for group, name in kept.legacy_trunk_groups
            if self._details.last((service_provider, group, name)) is None
        ]
        self._read_if_budget(run, TRUNK_GROUP_LISTS, lists, self._list_call)
        self._read_if_budget(run, TRUNK_GROUP_DETAILS, details, self._detail_call)

    def _read_if_budget(
        self,
        run: _Run,
        kind: str,
        keys: Iterable[Any],
        call_of: Callable[[Any], _Call],
    ) -> None:
        for key in keys:
            if run.state.budget.claimed((kind, key)):
                continue
            if run.state.budget.claim((kind, key)):
                call = call_of(key)
                run.submit(call.scope, call.task, *call.args)
            else:
                run.builder.note_pending(kind)

    def _collect_trunk_group_names(self, run: _Run, service_provider: str, group_id: str) -> None:
        key = (service_provider, group_id)
        try:
            listing = self._client.list_trunk_group_names(service_provider, group_id, run.deadline)
        except UpstreamError as error:
            if not _odin_says_no(error):
                raise
            self._facts.note(
                ("group", service_provider, group_id),
                "group has no trunking (Odin's 400 on its trunk-group list says so)",
                service_provider=service_provider,
                group=group_id,
            )
            # An empty list, kept and served like any other: its trunk groups are forgotten.
            listing = Names(())
        else:
            self._facts.forget(("group", service_provider, group_id))
        for problem in listing.problems:
            run.builder.fail(
                CollectionError("invalid_response", TRUNK_GROUPS, problem, service_provider)
            )
        names = set(listing.names)
        self._details.forget(
            detail
            for detail in self._details.known()
            if detail[:2] == key and detail[2] not in names
        )
        self._lists.keep(key, listing)
        run.builder.note_age(TRUNK_GROUP_LISTS, 0.0)
        unread = [
            (service_provider, group_id, name)
            for name in listing.names
            if self._details.last((service_provider, group_id, name)) is None
        ]
        self._read_if_budget(run, TRUNK_GROUP_DETAILS, unread, self._detail_call)

    def _collect_trunk_group_detail(
        self, run: _Run, service_provider: str, group_id: str, name: str
    ) -> None:
        key = (service_provider, group_id, name)
        detail = self._client.fetch_trunk_group_detail(
            service_provider, group_id, name, run.deadline
        )
        lines = trunk_group_lines(self._target.name, service_provider, detail)
        part = Part(service_provider, (group_id, name), lines)
        before = self._details.last(key)
        calls_before = before.value.calls if before is not None else None
        hot = is_hot(detail, calls_before)
        self._details.keep(key, KeptDetail(part, live_calls(detail), hot))
        run.builder.note_age(TRUNK_GROUP_DETAILS, 0.0)
        run.builder.add_part(part)
        run.builder.count("trunk groups")
        if hot:
            run.builder.count("hot trunk groups")


def _kept_report(target: str, report: TrunkCallCapacityReport) -> KeptReport:
    """The report rendered, with the groups whose trunk groups are to be read."""
    service_provider = report.service_provider_id
    return KeptReport(
        part=Part(service_provider, (), report_lines(target, report)),
        trunking=True,
        groups=len(report.groups),
        trunk_group_groups=tuple(
            group.group_id
            for group in report.groups
            if group.licence is None or group.licence.authorized is not False
        ),
        legacy_trunk_groups=tuple((row.group_id, row.name) for row in report.legacy_trunk_groups),
        problems=report.problems,
        call_limit=report.max_active_calls,
        group_call_limits={group.group_id: group.max_active_calls for group in report.groups},
    )


def _odin_says_no(error: UpstreamError) -> bool:
    """Odin's definite "no" (no Trunk Group service): a 400 whose own error body gives its
    code or its words for it. Any other 400, JSON or not ("Service temporarily unavailable",
    a proxy's HTML page), is a failure like any other: reading it as "no" would hide the SP."""
    return (
        error.status == 400
        and error.explained
        and bool(_NO_TRUNK_GROUP_SERVICE.search(error.detail))
    )


def _has_lines(kept: KeptReport | KeptDetail) -> bool:
    """Whether a kept report or detail can be served (not let go while it is read again)."""
    return kept.part is not None
