"""Fetching one snapshot of an Odin target: log in, find the SPs, fan out reports and trunk groups.

Every call is scheduled the moment its inputs are known and runs on the target's bounded
worker pool; each answer is rendered into exposition lines by the worker that received it.
A service provider is the scope of its report and of its trunk groups' calls: any of them
failing makes that SP down; what arrived is kept.

Standing facts are not failures: an SP whose report answers 400 has no Trunk Group service
(`odin_service_provider_trunking_enabled 0`), and a group whose trunk-group list answers 400
has no trunk groups. Each is logged once, when it is first seen.
"""

from __future__ import annotations

import logging
import threading

from exporter.core.collection import CollectionPlan, Run, collect
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.kept import KeptAnswers
from exporter.core.snapshot import TARGET, CollectionError, Part, Snapshot, SnapshotBuilder
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
    no_trunking_lines,
    report_lines,
    trunk_group_lines,
)
from exporter.vendors.odin.models import TrunkCallCapacityReport
from exporter.vendors.odin.refresh import (
    REPORTS,
    TRUNK_GROUP_DETAILS,
    TRUNK_GROUP_LISTS,
    KeptReport,
)

log = logging.getLogger(__name__)


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


# Odin tasks gather nothing beyond what they add to the builder.
_Run = Run[None]


class OdinFetcher:
    """Collects snapshots of one Odin target; owns its client (token, connections) and the
    answers it keeps between collections (see `exporter.vendors.odin.refresh`)."""

    def __init__(self, target: OdinTarget, telemetry: Telemetry) -> None:
        self._target = target
        self._client = OdinClient(target, telemetry)
        self._facts = StandingFacts(target.name)
        self._reports: KeptAnswers[KeptReport] = KeptAnswers(target.refresh.reports)
        self._lists: KeptAnswers[tuple[str, ...]] = KeptAnswers(target.refresh.trunk_group_lists)
        self._details: KeptAnswers[Part] = KeptAnswers(target.refresh.trunk_group_details)

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        plan = CollectionPlan(
            target=self._target.name,
            up=UP_FAMILIES,
            max_concurrency=self._target.max_concurrency,
            workers=f"odin-{self._target.name}",
            state=None,
            start=lambda run: run.submit(TARGET, self._discover),
        )
        return collect(plan, deadline)

    def _discover(self, run: _Run) -> None:
        """Log in, find the SPs, and serve or schedule their reports."""
        service_providers = self._service_providers(run.builder, run.deadline)
        run.builder.expect(service_providers)
        wanted = set(service_providers)
        self._reports.retain(wanted)
        self._lists.retain(wanted)
        self._details.retain(wanted)
        for service_provider in service_providers:
            kept = self._reports.fresh(service_provider)
            if kept is None:
                run.submit(service_provider, self._collect_report, service_provider)
                continue
            run.builder.note_age(REPORTS, kept.age())
            self._serve_report(run, service_provider, kept.value)

    def _service_providers(self, builder: SnapshotBuilder, deadline: Deadline) -> list[str]:
        self._client.log_in(deadline)
        if not self._target.discover:
            return list(self._target.service_providers)
        discovered = self._client.list_service_providers(deadline)
        for problem in discovered.problems:
            builder.fail(CollectionError("invalid_response", SERVICE_PROVIDERS, problem))
        return [sp for sp in discovered.names if self._target.wants_service_provider(sp)]

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
        self._reports.keep(service_provider, kept)
        run.builder.note_age(REPORTS, 0.0)
        self._serve_report(run, service_provider, kept)

    def _no_trunking(self, run: _Run, service_provider: str, error: UpstreamError) -> None:
        """Odin's definite "no": a standing fact, kept like a report."""
        self._facts.note(
            ("sp", service_provider),
            f"service provider has no Trunk Group service ({error.detail})",
            service_provider=service_provider,
        )
        lines = no_trunking_lines(self._target.name, service_provider)
        kept = KeptReport(Part(service_provider, (), lines), False, 0, (), ())
        self._reports.keep(service_provider, kept)
        run.builder.note_age(REPORTS, 0.0)
        self._serve_report(run, service_provider, kept)

    def _serve_last_report(self, run: _Run, service_provider: str) -> None:
        """Beside a failed refresh (which downs the SP), the last good report, with its age.
        It is not the SP's answer of this collection: with every refresh failing, odin_up is 0
        whatever is served from before."""
        last = self._reports.last(service_provider)
        if last is not None:
            run.builder.note_age(REPORTS, last.age())
            self._serve_report(run, service_provider, last.value, answered=False)

    def _serve_report(
        self, run: _Run, service_provider: str, kept: KeptReport, answered: bool = True
    ) -> None:
        run.builder.add_part(kept.part, main=answered)
        run.builder.count("service providers" if kept.trunking else "without trunking")
        run.builder.count("groups", kept.groups)
        if self._target.trunk_groups:
            self._schedule_trunk_groups(run, service_provider, kept)

    def _schedule_trunk_groups(self, run: _Run, service_provider: str, kept: KeptReport) -> None:
        """A list per group (unless kept), or, for the older report shape whose rows already
        name the trunk groups, their details straight away."""
        for group_id, name in kept.legacy_trunk_groups:
            self._schedule_detail(run, service_provider, group_id, name)
        for group_id in kept.trunk_group_groups:
            listing = self._lists.fresh((service_provider, group_id))
            if listing is None:
                run.submit(
                    service_provider, self._collect_trunk_group_names, service_provider, group_id
                )
                continue
            run.builder.note_age(TRUNK_GROUP_LISTS, listing.age())
            for name in listing.value:
                self._schedule_detail(run, service_provider, group_id, name)

    def _collect_trunk_group_names(self, run: _Run, service_provider: str, group_id: str) -> None:
        try:
            listing = self._client.list_trunk_group_names(service_provider, group_id, run.deadline)
        except UpstreamError as error:
            if not _odin_says_no(error):
                raise
            self._facts.note(
                ("group", service_provider, group_id),
                "group has no trunking (HTTP 400 on its trunk-group list)",
                service_provider=service_provider,
                group=group_id,
            )
            self._lists.keep((service_provider, group_id), ())
            return
        for problem in listing.problems:
            run.builder.fail(
                CollectionError("invalid_response", TRUNK_GROUPS, problem, service_provider)
            )
        self._lists.keep((service_provider, group_id), listing.names)
        run.builder.note_age(TRUNK_GROUP_LISTS, 0.0)
        for name in listing.names:
            self._schedule_detail(run, service_provider, group_id, name)

    def _schedule_detail(self, run: _Run, service_provider: str, group_id: str, name: str) -> None:
        kept = self._details.fresh((service_provider, group_id, name))
        if kept is None:
            run.submit(
                service_provider,
                self._collect_trunk_group_detail,
                service_provider,
                group_id,
                name,
            )
            return
        run.builder.note_age(TRUNK_GROUP_DETAILS, kept.age())
        run.builder.add_part(kept.value)
        run.builder.count("trunk groups")

    def _collect_trunk_group_detail(
        self, run: _Run, service_provider: str, group_id: str, name: str
    ) -> None:
        detail = self._client.fetch_trunk_group_detail(
            service_provider, group_id, name, run.deadline
        )
        lines = trunk_group_lines(self._target.name, service_provider, detail)
        part = Part(service_provider, (group_id, name), lines)
        self._details.keep((service_provider, group_id, name), part)
        run.builder.note_age(TRUNK_GROUP_DETAILS, 0.0)
        run.builder.add_part(part)
        run.builder.count("trunk groups")


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
    )


def _odin_says_no(error: UpstreamError) -> bool:
    """Odin's definite "no" (no Trunk Group service): a 400 in Odin's own error body. A 400
    from anything else in the way (a proxy's HTML page) is a failure like any other."""
    return error.status == 400 and error.explained
