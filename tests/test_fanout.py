"""The bounded pool behind every collection: follow-up tasks, the bound, the deadline."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from exporter.core.deadline import Deadline
from exporter.core.fanout import FanOut
from tests.helpers import wait_until


class InFlight:
    """Counts tasks running at once and remembers the most seen; `full` is set once
    `bound` run at once."""

    def __init__(self, bound: int) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self._bound = bound
        self.most = 0
        self.full = threading.Event()

    def __enter__(self) -> None:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
            if self._now >= self._bound:
                self.full.set()

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._now -= 1


def test_tasks_submitting_follow_ups_all_run_and_wait_returns_true() -> None:
    done: list[tuple[int, int]] = []
    lock = threading.Lock()

    def leaf(parent: int, child: int) -> None:
        with lock:
            done.append((parent, child))

    def parent(fan_out: FanOut, index: int) -> None:
        for child in range(3):
            fan_out.submit(leaf, index, child)

    with FanOut(4, "test") as fan_out:
        for index in range(10):
            fan_out.submit(parent, fan_out, index)
        assert fan_out.wait(Deadline(5))
        assert fan_out.pending == 0

    assert sorted(done) == [(p, c) for p in range(10) for c in range(3)]


def test_never_more_than_max_workers_tasks_at_once() -> None:
    in_flight = InFlight(4)

    def task(fan_out: FanOut, depth: int) -> None:
        with in_flight:
            # The first tasks hold their workers until four run at once, while the other
            # first tasks wait in the queue: a fifth worker would be seen.
            in_flight.full.wait(5)
        if depth < 2:
            for _ in range(3):
                fan_out.submit(task, fan_out, depth + 1)

    with FanOut(4, "test") as fan_out:
        for _ in range(8):
            fan_out.submit(task, fan_out, 0)
        assert fan_out.wait(Deadline(10))

    assert in_flight.most == 4  # the pool was used to its bound, and never beyond


def test_wait_returns_false_at_the_deadline_with_a_task_still_running() -> None:
    release = threading.Event()
    with FanOut(2, "test") as fan_out:
        fan_out.submit(release.wait, 5.0)
        started = time.monotonic()

        assert fan_out.wait(Deadline(0.2)) is False

        assert 0.15 <= time.monotonic() - started < 2.0
        assert fan_out.pending == 1
        release.set()


def test_close_drops_queued_tasks_and_later_submissions() -> None:
    release = threading.Event()
    ran: list[str] = []
    fan_out = FanOut(1, "closing")
    fan_out.submit(release.wait, 5.0)
    fan_out.submit(ran.append, "queued")
    fan_out.close()
    fan_out.submit(ran.append, "after close")
    release.set()

    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("closing_")]

    # Once its worker has ended, nothing queued can run any more.
    wait_until(lambda: not workers(), 5, "the worker to end after close")
    assert ran == []


def test_a_failing_task_is_logged_and_does_not_hold_up_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with (
        caplog.at_level(logging.ERROR, logger="exporter.core.fanout"),
        FanOut(2, "test") as fan_out,
    ):
        fan_out.submit(fail)
        assert fan_out.wait(Deadline(5))

    assert "collection task failed" in caplog.text


def test_every_worker_is_running_before_the_first_task_and_ends_after_close() -> None:
    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("prestart_")]

    fan_out = FanOut(5, "prestart")

    assert len(workers()) == 5  # started up front, not one per submitted task
    fan_out.close()
    for worker in workers():
        worker.join(timeout=5)
    assert workers() == []


def test_a_worker_that_cannot_start_ends_those_that_did(monkeypatch: pytest.MonkeyPatch) -> None:
    real_start = threading.Thread.start
    started: list[threading.Thread] = []

    def start_three(thread: threading.Thread) -> None:
        if not thread.name.startswith("crowded_"):
            real_start(thread)
            return
        if len(started) == 3:
            raise RuntimeError("can't start new thread")
        real_start(thread)
        started.append(thread)

    monkeypatch.setattr(threading.Thread, "start", start_three)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        FanOut(5, "crowded")

    for worker in started:
        worker.join(timeout=5)
    assert [worker for worker in started if worker.is_alive()] == []
