"""A bounded pool of worker threads whose tasks may schedule follow-up tasks.

Upstream calls are scheduled the moment their inputs are known (a trunk group's detail
does not wait for other groups' lists), so the pool stays busy with at most
`max_workers` requests in flight; `wait` returns at the deadline whatever is still running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from exporter.deadline import Deadline

log = logging.getLogger(__name__)


class FanOut:
    def __init__(self, max_workers: int, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix=name)
        self._condition = threading.Condition()
        self._pending = 0
        self._closed = False

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
            future = self._executor.submit(task, *args)
        future.add_done_callback(self._task_done)

    def wait(self, deadline: Deadline) -> bool:
        """True when every task finished, False when the deadline came first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, deadline.remaining())

    @property
    def pending(self) -> int:
        with self._condition:
            return self._pending

    def close(self) -> None:
        """Drop queued tasks; running ones finish within their own request timeout."""
        with self._condition:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _task_done(self, future: Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("collection task failed", exc_info=future.exception())
        with self._condition:
            self._pending -= 1
            if self._pending == 0:
                self._condition.notify_all()
