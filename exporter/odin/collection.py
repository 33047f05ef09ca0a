"""One collection of an Odin target: log in, find the SPs, fan out the reports and trunk groups.

The result is an `OdinSnapshot`, built whatever happened: a service provider whose report
failed or did not arrive before the deadline is listed with its reason, and everything that
did arrive is kept.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from exporter.collection_result import CollectionError, ErrorLog
from exporter.deadline import Deadline
from exporter.fanout import FanOut
from exporter.http_client import UpstreamError
from exporter.odin.client import CALL_CAPACITY_REPORT, OdinClient
from exporter.odin.models import TrunkCallCapacityReport, TrunkGroup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OdinSnapshot:
    """Everything one collection of an Odin target found."""

    reports: tuple[TrunkCallCapacityReport, ...]
    failed_service_providers: dict[str, str]  # service provider id -> error reason
    trunk_groups: tuple[tuple[str, TrunkGroup], ...]  # (service provider id, trunk group)
    errors: tuple[CollectionError, ...]
    target_error: str | None = None  # login or discovery failed: nothing else was tried

    @property
    def up(self) -> bool:
        """Reachable, logged in, and some SP report succeeded (or no SP is configured)."""
        if self.target_error is not None:
            return False
        return bool(self.reports) or not self.failed_service_providers

    @property
    def complete(self) -> bool:
        """Up, and no call of the collection failed."""
        return self.up and not self.errors


def failed_odin_snapshot(reason: str, errors: tuple[CollectionError, ...] = ()) -> OdinSnapshot:
    return OdinSnapshot((), {}, (), errors, target_error=reason)


class _SnapshotBuilder:
    """Collects the results of concurrent tasks."""

    def __init__(self, target: str) -> None:
        self.errors = ErrorLog(target)
        self._lock = threading.Lock()
        self._reports: dict[str, TrunkCallCapacityReport] = {}
        self._failed: dict[str, str] = {}
        self._trunk_groups: list[tuple[str, TrunkGroup]] = []

    def add_report(self, report: TrunkCallCapacityReport) -> None:
        with self._lock:
            self._reports[report.service_provider_id] = report

    def fail_service_provider(self, service_provider: str, error: UpstreamError) -> None:
        self.errors.add_upstream(error, service_provider)
        with self._lock:
            self._failed[service_provider] = error.reason

    def add_trunk_group(self, service_provider: str, trunk_group: TrunkGroup) -> None:
        with self._lock:
            self._trunk_groups.append((service_provider, trunk_group))

    def build(self, service_providers: list[str], deadline_missed: bool) -> OdinSnapshot:
        with self._lock:
            reports = dict(self._reports)
            failed = dict(self._failed)
            trunk_groups = tuple(
                sorted(
                    self._trunk_groups, key=lambda item: (item[0], item[1].group_id, item[1].name)
                )
            )
        unfinished = [sp for sp in service_providers if sp not in reports and sp not in failed]
        for service_provider in unfinished:
            failed[service_provider] = "timeout"
            self.errors.add(
                CollectionError(
                    "timeout",
                    CALL_CAPACITY_REPORT,
                    "no report before the scrape deadline",
                    service_provider,
                )
            )
        if deadline_missed and not unfinished:
            self.errors.add(
                CollectionError("timeout", "", "trunk group calls unfinished at the deadline")
            )
        ordered = tuple(reports[sp] for sp in service_providers if sp in reports)
        return OdinSnapshot(ordered, failed, trunk_groups, self.errors.snapshot())


class OdinCollection:
    """Fetches one snapshot of an Odin target under a deadline."""

    def __init__(self, client: OdinClient) -> None:
        self._client = client
        self._target = client.target

    def __call__(self, deadline: Deadline) -> OdinSnapshot:
        builder = _SnapshotBuilder(self._target.name)
        try:
            self._client.log_in(deadline)
            service_providers = self._service_providers(deadline)
        except UpstreamError as error:
            builder.errors.add_upstream(error)
            return failed_odin_snapshot(error.reason, builder.errors.snapshot())
        with FanOut(self._target.max_concurrency, f"odin-{self._target.name}") as fan_out:
            for service_provider in service_providers:
                fan_out.submit(self._collect_report, fan_out, builder, service_provider, deadline)
            finished = fan_out.wait(deadline)
        return builder.build(service_providers, deadline_missed=not finished)

    def _service_providers(self, deadline: Deadline) -> list[str]:
        if not self._target.discover:
            return list(self._target.service_providers)
        discovered = self._client.list_service_providers(deadline)
        # dict.fromkeys: discovery order, each SP once even if listed twice.
        return list(
            dict.fromkeys(sp for sp in discovered if self._target.wants_service_provider(sp))
        )

    def _collect_report(
        self, fan_out: FanOut, builder: _SnapshotBuilder, service_provider: str, deadline: Deadline
    ) -> None:
        try:
            report = self._client.fetch_trunk_call_capacity_report(service_provider, deadline)
        except UpstreamError as error:
            builder.fail_service_provider(service_provider, error)
            return
        builder.add_report(report)
        for trunk_group in report.legacy_trunk_groups:
            builder.add_trunk_group(service_provider, trunk_group)
        if not self._target.trunk_groups:
            return
        for group in report.groups:
            if group.licence is not None and group.licence.authorized is False:
                continue
            fan_out.submit(
                self._collect_trunk_group_names,
                fan_out,
                builder,
                service_provider,
                group.group_id,
                deadline,
            )

    def _collect_trunk_group_names(
        self,
        fan_out: FanOut,
        builder: _SnapshotBuilder,
        service_provider: str,
        group_id: str,
        deadline: Deadline,
    ) -> None:
        try:
            names = self._client.list_trunk_group_names(service_provider, group_id, deadline)
        except UpstreamError as error:
            self._trunk_group_call_failed(builder, service_provider, group_id, error)
            return
        for name in names:
            fan_out.submit(
                self._collect_trunk_group_detail,
                builder,
                service_provider,
                group_id,
                name,
                deadline,
            )

    def _collect_trunk_group_detail(
        self,
        builder: _SnapshotBuilder,
        service_provider: str,
        group_id: str,
        name: str,
        deadline: Deadline,
    ) -> None:
        try:
            detail = self._client.fetch_trunk_group_detail(
                service_provider, group_id, name, deadline
            )
        except UpstreamError as error:
            self._trunk_group_call_failed(builder, service_provider, group_id, error)
            return
        builder.add_trunk_group(service_provider, detail)

    def _trunk_group_call_failed(
        self, builder: _SnapshotBuilder, service_provider: str, group_id: str, error: UpstreamError
    ) -> None:
        if error.status == 400:
            # Odin answers 400 for a group without trunking: nothing to collect there.
            log.debug(
                "group has no trunking",
                extra={
                    "target": self._target.name,
                    "service_provider": service_provider,
                    "group": group_id,
                },
            )
            return
        builder.errors.add_upstream(error, service_provider)
