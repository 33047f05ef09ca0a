"""A bounded pool of worker threads whose tasks may schedule follow-up tasks.

Upstream calls are scheduled the moment their inputs are known (a trunk group's detail
does not wait for other groups' lists), so the pool stays busy with at most
`max_workers` requests in flight; `wait` returns at the deadline whatever is still running.

Every worker is started before the first task is queued. Started on demand (as
`ThreadPoolExecutor` does), each new thread's start waits for the GIL behind the workers
already preparing requests, and the first round of requests went out spread over 20 ms
instead of 2: on a 13-round fan-out, 3 % of the whole scrape.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from exporter.core.deadline import Deadline

log = logging.getLogger(__name__)

_Task = tuple[Callable[..., None], tuple[Any, ...]]

# How often a wait looks at its deadline again (a joining scrape may have shortened it).
_RECHECK_DEADLINE = 0.1


class FanOut:
    def __init__(self, max_workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._condition = threading.Condition()
        self._pending = 0
        self._closed = False
        self._workers: list[threading.Thread] = []
        try:
            for index in range(max_workers):
                worker = threading.Thread(target=self._work, name=f"{name}_{index}", daemon=True)
                worker.start()
                self._workers.append(worker)
        except RuntimeError:  # "can't start new thread": end those that did start
            self.close()
            raise

    def __enter__(self) -> FanOut:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, task: Callable[..., None], *args: Any) -> None:
        """Run `task(*args)` on the pool; ignored once the fan-out is closed."""
        with self._condition:
            if self._closed:
                return
            self._pending += 1
            # Under the lock, so that a task counted as pending is always queued before
            # close()'s stop signals, and so runs or is dropped, never forgotten.
            self._queue.put((task, args))

    def wait(self, deadline: Deadline) -> bool:
        """True when every task finished, False when the deadline came first. The deadline
        is looked at again every moment: a scrape that joins the collection may shorten it."""
        with self._condition:
            while self._pending and not deadline.expired:
                self._condition.wait(min(deadline.remaining(), _RECHECK_DEADLINE))
            return self._pending == 0

    @property
    def pending(self) -> int:
        with self._condition:
            return self._pending

    def close(self) -> None:
        """Drop queued tasks; running ones finish within their own request timeout, and each
        worker ends when it next looks at the queue."""
        with self._condition:
            self._closed = True
            for _ in self._workers:
                self._queue.put(None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            task, args = item
            try:
                if not self._closed:
                    task(*args)
            except Exception:
                log.exception("collection task failed")
            finally:
                self._task_done()

    def _task_done(self) -> None:
        with self._condition:
            self._pending -= 1
            if self._pending == 0:
                self._condition.notify_all()
