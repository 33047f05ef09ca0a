"""What one collection of a target found, and the one rule for when a target is up.

Every vendor collects into a `SnapshotBuilder`. Its tasks run concurrently; each adds the
*parts* of the target it fetched (an Odin service provider's report, a trunk group's detail,
a DIDWW account's data), already rendered as exposition lines, or records an error, scoped
to the part it belongs to or to the whole target. `build` then applies the rule, the same for
every vendor:

- a part is up when its main answer arrived (`add_part(..., main=True)`) and no error is
  scoped to it;
- the target is up when no error is scoped to the whole target and at least one part's main
  answer arrived (or the target has no parts at all);
- the collection is complete (a success, for `last_success_timestamp_seconds`) when the target
  is up and no error was recorded anywhere.

A task that raises anything is an error of its scope too: `run` records an `UpstreamError` with
its own reason, and any other exception as `internal`, logged once with its traceback. There is
no path by which a failure leaves a part up.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.exposition import Family, PartWriter
from exporter.core.redaction import shortened

log = logging.getLogger(__name__)

TARGET = ""  # the scope of an error that concerns the whole target
_EXAMPLES = 3  # examples of a kind of problem in its one log line
_MAX_EXAMPLE = 200  # characters of each


@dataclass(frozen=True, slots=True)
class CollectionError:
    reason: str
    endpoint: str
    detail: str
    scope: str = TARGET


@dataclass
class _Problem:
    """One kind of problem (a reason at an endpoint) in a collection: logged once, at the end,
    with how often it happened and a few examples."""

    first: CollectionError
    count: int = 0
    examples: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)

    def add(self, error: CollectionError) -> None:
        self.count += 1
        if len(self.examples) < _EXAMPLES and error.detail not in self.examples:
            self.examples.append(error.detail)
        if len(self.scopes) <= _EXAMPLES and error.scope not in self.scopes:
            self.scopes.append(error.scope)


@dataclass(frozen=True, slots=True)
class Part:
    """Exposition lines of one fetched piece of a target, by family name."""

    scope: str
    order: tuple[str, ...]  # sorts the parts of one scope: () for the main answer
    lines: Mapping[str, bytes]


@dataclass(frozen=True)
class Snapshot:
    """Everything one collection of a target found, ready to expose."""

    target: str
    up: bool
    complete: bool
    parts: tuple[Part, ...]  # in exposition order; the first carries the up lines
    errors: tuple[CollectionError, ...]
    counts: Mapping[str, int] = field(default_factory=dict)  # e.g. {"groups": 12}
    ages: Mapping[str, float] = field(default_factory=dict)  # oldest data served, by kind
    # Items known to exist but never read yet, by kind: deferred by the call budget, not failed.
    pending: Mapping[str, int] = field(default_factory=dict)
    intervals: Mapping[str, float] = field(default_factory=dict)  # each kind's refresh interval
    # The objects served, by the label that names them, each as the label values that identify
    # it (a trunk group: its SP and name): what the capacity chain's links are checked against.
    # A kind that is absent was not (completely) known to this collection.
    names: Mapping[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class UpFamilies:
    """Where a vendor exposes the rule's outcome: the target's up and, optionally, each part's."""

    target: Family
    part: Family | None = None
    part_label: str = ""


class SnapshotBuilder:
    """Collects the parts and errors of one collection from concurrent tasks."""

    def __init__(
        self,
        target: str,
        up: UpFamilies,
        deadline: Deadline | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.target = target
        self._up = up
        self._deadline = deadline
        # The last gate before the log and the status page: an error's text may quote an
        # upstream that echoed a secret.
        self._redact = redact
        self._lock = threading.Lock()
        self._scopes: dict[str, None] = {}
        self._parts: list[Part] = []
        self._available: set[str] = set()
        # One per scope and reason: a page of 20,000 invalid pools is one error, not 20,000.
        self._errors: dict[tuple[str, str], CollectionError] = {}
        self._problems: dict[tuple[str, str], _Problem] = {}  # by reason and endpoint
        self._pending: Counter[str] = Counter()  # tasks still running, by scope
        self._counts: Counter[str] = Counter()
        self._ages: dict[str, float] = {}
        self._unread: Counter[str] = Counter()  # items deferred by the budget, by kind
        self._intervals: dict[str, float] = {}
        self._names: dict[str, frozenset[tuple[str, ...]]] = {}
        self._late = 0  # timeouts recorded after the deadline, summed up by `build`
        self._built = False  # after `build`, late tasks skip their work

    def expect(self, scopes: Sequence[str]) -> None:
        """Declare the parts this collection means to fetch, in exposition order."""
        with self._lock:
            self._scopes.update(dict.fromkeys(scopes))

    def add_part(self, part: Part, *, main: bool = False) -> None:
        """Keep a part; `main` marks the scope's main answer as arrived."""
        with self._lock:
            self._parts.append(part)
            if main:
                self._available.add(part.scope)

    def count(self, what: str, number: int = 1) -> None:
        with self._lock:
            self._counts[what] += number

    def note_age(self, kind: str, seconds: float) -> None:
        """Data of `kind` this old is served (0 when fetched for this collection)."""
        with self._lock:
            self._ages[kind] = max(seconds, self._ages.get(kind, 0.0))

    def note_intervals(self, intervals: Mapping[str, float]) -> None:
        """How often each kind is meant to be read (0: every collection), for the alert on
        data that stays older than that."""
        with self._lock:
            self._intervals.update(intervals)

    def note_names(self, label: str, names: Iterable[tuple[str, ...]]) -> None:
        """Every object named by `label` that this collection serves (call it only when the
        list is complete: a name missing from it reads as a name that does not exist)."""
        with self._lock:
            self._names[label] = frozenset(names)

    def note_pending(self, kind: str, items: int = 1) -> None:
        """`items` of `kind` are known but were never read: the budget deferred them."""
        with self._lock:
            self._unread[kind] += items

    def fail(self, error: CollectionError) -> None:
        """Record an error of its scope: the first of each reason is the scope's error (and
        counted once); `build` logs one line per kind of problem with a count and examples
        (timeouts met after the deadline are summed up in the line of the unfinished parts)."""
        if self._redact is not None:
            error = replace(error, detail=self._redact(error.detail))
        late = error.reason == "timeout" and self._deadline is not None and self._deadline.expired
        with self._lock:
            self._errors.setdefault((error.scope, error.reason), error)
            if late:
                self._late += 1
                return
            key = (error.reason, error.endpoint)
            problem = self._problems.get(key)
            if problem is None:
                problem = self._problems[key] = _Problem(error)
            problem.add(error)

    def fail_upstream(self, error: UpstreamError, scope: str = TARGET) -> None:
        self.fail(CollectionError(error.reason, error.endpoint, error.detail, scope))

    def run(self, scope: str, task: Callable[..., None], *args: Any) -> None:
        """Run `task(*args)` as work of `scope`: whatever it raises becomes that scope's error,
        and until it returns the scope has work pending (a timeout if the deadline comes)."""
        with self._lock:
            self._pending[scope] += 1
        self._settle(scope, task, *args)

    def task(self, scope: str, task: Callable[..., None]) -> Callable[..., None]:
        """`task` wrapped by `run`, for a worker pool. Its scope has work pending from now, not
        from when a worker takes it: a task still queued at the deadline (and dropped with the
        queue) is a timeout of its scope, never a silent gap in it."""
        with self._lock:
            self._pending[scope] += 1
        return lambda *args: self._settle(scope, task, *args)

    def _settle(self, scope: str, task: Callable[..., None], *args: Any) -> None:
        """Run a task already counted as pending for `scope`; uncount it when it ends."""
        try:
            with self._lock:
                if self._built:  # too late to be part of the snapshot: spare the CPU
                    return
            task(*args)
        except UpstreamError as error:
            self.fail_upstream(error, scope)
        except Exception as error:  # a bug or an unforeseen input: down, with its traceback
            log.exception(
                "collection task failed unexpectedly",
                extra={"target": self.target, "reason": "internal"},
            )
            detail = f"unexpected {type(error).__name__} in {getattr(task, '__name__', 'task')}"
            with self._lock:  # logged above, with its traceback: once is enough
                self._errors.setdefault(
                    (scope, "internal"), CollectionError("internal", "", detail, scope)
                )
        finally:
            with self._lock:
                self._pending[scope] -= 1

    def build(self, deadline_missed: bool = False) -> Snapshot:
        """The snapshot as it stands; with `deadline_missed`, unfinished work is a timeout.

        Called at the deadline while late tasks may still be running: it copies under the
        lock, so what they add afterwards is simply not part of this snapshot.
        """
        with self._lock:
            self._built = True
            parts = list(self._parts)
            available = set(self._available)
            errors = list(self._errors.values())
            problems = list(self._problems.values())
            pending = {scope for scope, number in self._pending.items() if number > 0}
            scopes = list(self._scopes)
            counts = dict(self._counts)
            ages = dict(self._ages)
            pending_items = dict(self._unread)
            intervals = dict(self._intervals)
            names = dict(self._names)
            late = self._late
        for problem in problems:
            self._log_problem(problem)
        if deadline_missed:
            errors += self._timeouts(scopes, available, pending, {e.scope for e in errors}, late)
        failed = {error.scope for error in errors}
        up = TARGET not in failed and (not scopes or bool(available & set(scopes)))
        order = {scope: index for index, scope in enumerate(scopes)}
        parts.sort(key=lambda part: (order.get(part.scope, len(order)), part.order))
        status = self._status_part(up, scopes, available, failed)
        return Snapshot(
            target=self.target,
            up=up,
            complete=up and not errors,
            parts=(status, *parts),
            errors=tuple(errors),
            counts=counts,
            ages=ages,
            pending=pending_items,
            intervals=intervals,
            names=names,
        )

    def _log_problem(self, problem: _Problem) -> None:
        """One line for every error of one kind in this collection."""
        first = problem.first
        fields: dict[str, object] = {
            "target": self.target,
            "endpoint": first.endpoint,
            "reason": first.reason,
        }
        label = self._up.part_label or "scope"
        scopes = [scope for scope in problem.scopes if scope]
        if len(problem.scopes) == 1 and scopes:
            fields[label] = scopes[0]
        elif scopes:
            more = " and more" if len(problem.scopes) > _EXAMPLES else ""
            fields[f"{label}s"] = ", ".join(scopes[:_EXAMPLES]) + more
        message = shortened(first.detail, _MAX_EXAMPLE)
        if problem.count > 1:
            fields["count"] = problem.count
            others = "; ".join(shortened(e, _MAX_EXAMPLE) for e in problem.examples[1:])
            message += f" (and {problem.count - 1} more like it{': ' if others else ''}{others})"
        log.warning(message, extra=fields)

    def _timeouts(
        self,
        scopes: list[str],
        available: set[str],
        pending: set[str],
        failed: set[str],
        timed_out: int,
    ) -> list[CollectionError]:
        """One timeout per scope that had work left, and a single summary log line."""
        late = [s for s in scopes if (s not in available or s in pending) and s not in failed]
        late += sorted(pending - set(scopes) - failed)
        if not late and not timed_out:
            return []
        shown = ", ".join(s or "(target)" for s in late[:5])
        more = f" and {len(late) - 5} more" if len(late) > 5 else ""
        log.warning(
            f"deadline reached with {len(late)} parts unfinished ({shown}{more}) and "
            f"{timed_out} calls cut short",
            extra={"target": self.target, "reason": "timeout"},
        )
        return [CollectionError("timeout", "", "unfinished at the deadline", s) for s in late]

    def _status_part(
        self, up: bool, scopes: list[str], available: set[str], failed: set[str]
    ) -> Part:
        writer = PartWriter({"target": self.target})
        writer.add(self._up.target, {}, 1.0 if up else 0.0)
        if self._up.part is not None:
            for scope in scopes:
                part_up = scope in available and scope not in failed
                writer.add(self._up.part, {self._up.part_label: scope}, 1.0 if part_up else 0.0)
        return Part(TARGET, (), writer.rendered())


def failed_snapshot(target: str, up: UpFamilies, error: CollectionError) -> Snapshot:
    """A collection that could not run at all."""
    builder = SnapshotBuilder(target, up)
    builder.fail(error)
    return builder.build()
