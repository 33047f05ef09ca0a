"""Config reloads, one at a time: SIGHUP only asks, a thread of its own does the work.

A signal must not reload where it lands (on top of whatever the main thread was doing, with a
second SIGHUP nesting a reload inside the first): the server's event loop calls `request()`,
which only sets an event (never from a signal handler itself: Event.set takes a lock).
Requests that arrive while a reload runs are coalesced into one more reload afterwards: a
storm of SIGHUPs costs at most two reloads at a time, never a queue. /-/reload calls `now()`,
which takes the same lock and so never overlaps a signalled reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from exporter.config.section import ConfigError

log = logging.getLogger(__name__)


class Reloader:
    def __init__(self, reload: Callable[[], None]) -> None:
        self._reload = reload
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="reloader", daemon=True)
        self.completed = 0  # reloads run, successful or not; for tests and the curious

    def start(self) -> Reloader:
        self._thread.start()
        return self

    def request(self) -> None:
        """Ask for a reload without waiting for it."""
        self._wanted.set()

    def now(self) -> None:
        """Reload in the caller's thread, after any reload in progress; raises ConfigError."""
        with self._lock:
            self._run_reload()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._stopping:
                return
            # Cleared before the reload: a SIGHUP during it means one more reload after it.
            self._wanted.clear()
            with self._lock:
                try:
                    self._run_reload()
                except ConfigError:
                    pass  # reload() logged it; the old config keeps serving
                except Exception:
                    log.exception("config reload failed; the previous config keeps serving")

    def _run_reload(self) -> None:
        try:
            self._reload()
        finally:
            self.completed += 1
