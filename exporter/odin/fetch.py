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

from exporter.config import OdinTarget
from exporter.deadline import Deadline
from exporter.fanout import FanOut
from exporter.http_client import UpstreamError
from exporter.odin.client import (
    CALL_CAPACITY_REPORT,
    SERVICE_PROVIDERS,
    TRUNK_GROUPS,
    OdinClient,
)
from exporter.odin.metrics import (
    UP_FAMILIES,
    no_trunking_lines,
    report_lines,
    trunk_group_lines,
)
from exporter.odin.models import TrunkCallCapacityReport
from exporter.snapshot import TARGET, CollectionError, Part, Snapshot, SnapshotBuilder
from exporter.telemetry import Telemetry

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


class OdinFetcher:
    """Collects snapshots of one Odin target; owns its client (token, connections)."""

    def __init__(self, target: OdinTarget, telemetry: Telemetry) -> None:
        self._target = target
        self._client = OdinClient(target, telemetry)
        self._facts = StandingFacts(target.name)

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        """Every call runs on the worker pool, this thread only waits: it hands over at the
        deadline whatever the upstream does."""
        builder = SnapshotBuilder(self._target.name, UP_FAMILIES, deadline)
        with FanOut(self._target.max_concurrency, f"odin-{self._target.name}") as fan_out:
            fan_out.submit(builder.task(TARGET, self._discover), fan_out, builder, deadline)
            finished = fan_out.wait(deadline)
        return builder.build(deadline_missed=not finished)

    def _discover(self, fan_out: FanOut, builder: SnapshotBuilder, deadline: Deadline) -> None:
        """Log in, find the SPs, and schedule their reports."""
        service_providers = self._service_providers(builder, deadline)
        builder.expect(service_providers)
        for service_provider in service_providers:
            fan_out.submit(
                builder.task(service_provider, self._collect_report),
                fan_out,
                builder,
                service_provider,
                deadline,
            )

    def _service_providers(self, builder: SnapshotBuilder, deadline: Deadline) -> list[str]:
        self._client.log_in(deadline)
        if not self._target.discover:
            return list(self._target.service_providers)
        discovered = self._client.list_service_providers(deadline)
        for problem in discovered.problems:
            builder.fail(CollectionError("invalid_response", SERVICE_PROVIDERS, problem))
        return [sp for sp in discovered.names if self._target.wants_service_provider(sp)]

    def _collect_report(
        self, fan_out: FanOut, builder: SnapshotBuilder, service_provider: str, deadline: Deadline
    ) -> None:
        try:
            report = self._client.fetch_trunk_call_capacity_report(service_provider, deadline)
        except UpstreamError as error:
            if error.status != 400:
                raise
            self._facts.note(
                ("sp", service_provider),
                f"service provider has no Trunk Group service ({error.detail})",
                service_provider=service_provider,
            )
            builder.add_part(
                Part(service_provider, (), no_trunking_lines(self._target.name, service_provider)),
                main=True,
            )
            return
        self._facts.forget(("sp", service_provider))
        self._keep_report(builder, report)
        if self._target.trunk_groups:
            self._schedule_trunk_groups(fan_out, builder, report, deadline)

    def _keep_report(self, builder: SnapshotBuilder, report: TrunkCallCapacityReport) -> None:
        service_provider = report.service_provider_id
        for problem in report.problems:
            builder.fail(
                CollectionError("invalid_response", CALL_CAPACITY_REPORT, problem, service_provider)
            )
        lines = report_lines(self._target.name, report)
        builder.add_part(Part(service_provider, (), lines), main=True)
        builder.count("service providers")
        builder.count("groups", len(report.groups))

    def _schedule_trunk_groups(
        self,
        fan_out: FanOut,
        builder: SnapshotBuilder,
        report: TrunkCallCapacityReport,
        deadline: Deadline,
    ) -> None:
        """A list call per group, or, for the older report shape whose rows already name
        the trunk groups, their detail calls straight away."""
        service_provider = report.service_provider_id
        for row in report.legacy_trunk_groups:
            fan_out.submit(
                builder.task(service_provider, self._collect_trunk_group_detail),
                builder,
                service_provider,
                row.group_id,
                row.name,
                deadline,
            )
        for group in report.groups:
            if group.licence is not None and group.licence.authorized is False:
                continue
            fan_out.submit(
                builder.task(service_provider, self._collect_trunk_group_names),
                fan_out,
                builder,
                service_provider,
                group.group_id,
                deadline,
            )

    def _collect_trunk_group_names(
        self,
        fan_out: FanOut,
        builder: SnapshotBuilder,
        service_provider: str,
        group_id: str,
        deadline: Deadline,
    ) -> None:
        try:
            listing = self._client.list_trunk_group_names(service_provider, group_id, deadline)
        except UpstreamError as error:
            if error.status != 400:
                raise
            self._facts.note(
                ("group", service_provider, group_id),
                "group has no trunking (HTTP 400 on its trunk-group list)",
                service_provider=service_provider,
                group=group_id,
            )
            return
        for problem in listing.problems:
            builder.fail(
                CollectionError("invalid_response", TRUNK_GROUPS, problem, service_provider)
            )
        for name in listing.names:
            fan_out.submit(
                builder.task(service_provider, self._collect_trunk_group_detail),
                builder,
                service_provider,
                group_id,
                name,
                deadline,
            )

    def _collect_trunk_group_detail(
        self,
        builder: SnapshotBuilder,
        service_provider: str,
        group_id: str,
        name: str,
        deadline: Deadline,
    ) -> None:
        detail = self._client.fetch_trunk_group_detail(service_provider, group_id, name, deadline)
        lines = trunk_group_lines(self._target.name, service_provider, detail)
        builder.add_part(Part(service_provider, (group_id, name), lines))
        builder.count("trunk groups")
