"""One collection of a target: a bounded worker pool, a snapshot builder and a deadline.

Every vendor collects the same way: it submits its first tasks, each task submits the calls its
answer makes known, and the collection waits for all of them or the deadline, whichever comes
first. Only the tasks differ, so this runner is the one place that wires the pool, the builder
and the deadline together; a vendor's fetcher hands it a `start` (and, for a target rendered
whole from what arrived, a `finish`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from exporter.core.deadline import Deadline
from exporter.core.fanout import FanOut
from exporter.core.snapshot import Snapshot, SnapshotBuilder, UpFamilies

State = TypeVar("State")


@dataclass(frozen=True)
class Run(Generic[State]):
    """One collection in progress, handed to every task: where to submit further work, where
    results go, the deadline, and what the vendor gathers during this collection (`state`)."""

    fan_out: FanOut
    builder: SnapshotBuilder
    deadline: Deadline
    state: State

    def submit(self, scope: str, task: Callable[..., None], *args: Any) -> None:
        """Run `task(self, *args)` on the pool, as work of `scope`: whatever it raises is an
        error of that scope, and until it ends the scope has work pending."""
        self.fan_out.submit(self.builder.task(scope, task), self, *args)


@dataclass(frozen=True)
class CollectionPlan(Generic[State]):
    """What a fetcher hands the runner for one collection."""

    target: str
    up: UpFamilies
    max_concurrency: int
    workers: str  # the worker threads' name prefix: "odin-prod"
    state: State
    start: Callable[[Run[State]], None]  # submits the first tasks
    # Called after the wait with whether every task ended in time, before the snapshot is built.
    finish: Callable[[Run[State], bool], None] | None = None
    # The target's redactor: every error's text passes through it (exporter.core.redaction).
    redact: Callable[[str], str] | None = None


def collect(plan: CollectionPlan[State], deadline: Deadline) -> Snapshot:
    """Everything that arrived before `deadline`, and an error for everything else.

    Every call runs on the worker pool; this thread only waits, so it hands over at the
    deadline whatever the upstream does.
    """
    builder = SnapshotBuilder(plan.target, plan.up, deadline, plan.redact)
    with FanOut(plan.max_concurrency, plan.workers) as fan_out:
        run = Run(fan_out, builder, deadline, plan.state)
        plan.start(run)
        finished = fan_out.wait(deadline)
    if plan.finish is not None:
        plan.finish(run, finished)
    return builder.build(deadline_missed=not finished)
