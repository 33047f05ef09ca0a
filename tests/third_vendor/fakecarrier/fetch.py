"""One collection of a carrier account: one call, one part."""

from __future__ import annotations

from exporter.vendors.fakecarrier.client import FakeCarrierClient
from exporter.vendors.fakecarrier.config import FakeCarrierTarget
from exporter.vendors.fakecarrier.metrics import UP_FAMILIES, channel_lines

from exporter.core.collection import CollectionPlan, Run, collect
from exporter.core.deadline import Deadline
from exporter.core.snapshot import TARGET, Part, Snapshot
from exporter.core.telemetry import Telemetry


class FakeCarrierFetcher:
    def __init__(self, target: FakeCarrierTarget, telemetry: Telemetry) -> None:
        self._target = target
        self._client = FakeCarrierClient(target, telemetry)

    def close(self) -> None:
        self._client.close()

    def collect(self, deadline: Deadline) -> Snapshot:
        plan = CollectionPlan(
            target=self._target.name,
            up=UP_FAMILIES,
            max_concurrency=self._target.max_concurrency,
            workers=f"fakecarrier-{self._target.name}",
            state=None,
            start=lambda run: run.submit(TARGET, self._read_channels),
        )
        return collect(plan, deadline)

    def _read_channels(self, run: Run[None]) -> None:
        channels = self._client.fetch_channels(run.deadline)
        lines = channel_lines(self._target.name, channels)
        run.builder.add_part(Part(TARGET, (), lines), main=True)
