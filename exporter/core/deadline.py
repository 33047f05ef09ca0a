"""A point in time by which a scrape must have answered, and what one collection holds until
then: its upstream sockets and its memory account."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from exporter.core.memory import MemoryAccount


class Deadline:
    """Monotonic deadline shared by every upstream call of one collection.

    Timeouts bound each socket operation, not a whole answer: an upstream that trickles its
    response headers a byte at a time would hold a worker past any timeout. So requests
    waiting for headers `track` their socket here, and `abort_in_flight`, called when the
    collection ends, shuts every such socket down: the worker wakes at once and no
    connection outlives the collection that started it.

    `memory` is the collection's account (`exporter.core.memory`), which every answer is
    charged to as it is parsed.
    """

    def __init__(self, seconds: float, memory: MemoryAccount | None = None) -> None:
        self.memory = memory or MemoryAccount.unlimited()
        self.started = time.monotonic()
        self._end = self.started + seconds
        self._lock = threading.Lock()
        self._in_flight: set[socket.socket] = set()
        self._aborted = False

    def fork(self, memory: MemoryAccount | None = None) -> Deadline:
        """The same point in time, for one collection: its own start, in-flight sockets and
        memory account (the targets of one scrape share the scrape's deadline, not their
        connections or memory)."""
        forked = Deadline(0.0, memory)
        forked._end = self._end
        return forked

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def shorten_to(self, other: Deadline) -> None:
        """End no later than `other`: a collection answers the earliest of those waiting."""
        with self._lock:
            self._end = min(self._end, other._end)

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._aborted:
                self._in_flight.add(sock)
                return
        _shut_down(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._in_flight.discard(sock)

    def abort_in_flight(self) -> None:
        """Shut down every tracked socket, and any tracked from now on."""
        with self._lock:
            self._aborted = True
            in_flight, self._in_flight = self._in_flight, set()
        for sock in in_flight:
            _shut_down(sock)

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f}s)"


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its owner
        sock.shutdown(socket.SHUT_RDWR)
