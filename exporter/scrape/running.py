"""The running exporter: its configuration, one source per target, and scrapes of them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future

from exporter.chain import Link, LinkCheck, check_links, describe_check, links_of, links_touching
from exporter.core.deadline import Deadline
from exporter.core.memory import MemoryBudget
from exporter.core.telemetry import Telemetry
from exporter.registry import Config, vendor_of
from exporter.scrape.answer import GzipCache, Scrape
from exporter.scrape.self_metrics import own_registry
from exporter.scrape.sources import (
    HANDOVER_GRACE,
    Collection,
    Started,
    TargetOutcome,
    TargetSource,
    TargetStatus,
)

log = logging.getLogger(__name__)


def build_sources(
    config: Config,
    telemetry: Telemetry,
    memory: MemoryBudget,
    current: Mapping[str, TargetSource] | None = None,
) -> dict[str, TargetSource]:
    """One source per configured target, each with its own client and connection pool.

    A target whose settings did not change keeps its `current` source, and with it its
    token, connections, cache and last success.
    """
    sources: dict[str, TargetSource] = {}
    for target in config.targets:
        unchanged = (current or {}).get(target.name)
        if unchanged is not None and unchanged.target == target:
            sources[target.name] = unchanged
            continue
        sources[target.name] = TargetSource(target, vendor_of(target), telemetry, memory)
        telemetry.register_target(target.name)
    return sources


class PendingScrape:
    """A scrape whose collections are running: `ready` is done once every one of them is,
    `ready_by` (time.monotonic()) is when the scrape stops waiting for them anyway, and
    `result()` builds the scrape's answer (waiting, at most until then)."""

    def __init__(
        self,
        started: Sequence[Started],
        deadline: Deadline,
        build: Callable[[list[TargetOutcome]], Scrape],
    ) -> None:
        self._started = started
        self._build = build
        self.ready: Future[None] = Future()
        # A collection stops waiting for upstream calls at the deadline and builds in
        # milliseconds; the grace lets it hand over on a busy machine.
        self.ready_by = time.monotonic() + deadline.remaining() + HANDOVER_GRACE
        in_flight = [s.in_flight for s in started if s.in_flight is not None]
        self._lock = threading.Lock()
        self._left = len(in_flight)
        if not in_flight:
            self.ready.set_result(None)
        for future in in_flight:
            future.add_done_callback(self._one_done)

    def result(self) -> Scrape:
        return self._build([started.wait(self.ready_by) for started in self._started])

    def _one_done(self, _: Future[Collection]) -> None:
        with self._lock:
            self._left -= 1
            last = self._left == 0
        if last:
            self.ready.set_result(None)


class Exporter:
    """Configuration lifecycle and scrapes; every target is collected concurrently."""

    def __init__(
        self,
        config: Config,
        telemetry: Telemetry | None = None,
        memory: MemoryBudget | None = None,
    ) -> None:
        self.telemetry = telemetry or Telemetry()
        # What every collection's answers may take at once (exporter.core.memory).
        self.memory = memory or MemoryBudget()
        self._lock = threading.Lock()
        self.config = config
        self._sources = build_sources(config, self.telemetry, self.memory)
        self._gzip_cache = GzipCache()
        self._unresolved: dict[tuple[Link, str], LinkCheck] = {}  # by link and side
        self.telemetry.record_reload(True, time.time())

    @property
    def target_names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._sources)

    def status(self) -> list[TargetStatus]:
        """Every target's state as of its last collection, without collecting."""
        with self._lock:
            sources = list(self._sources.values())
        return [source.status() for source in sources]

    def unresolved_links(self) -> list[LinkCheck]:
        """The sides of links that named something missing upstream when last checked."""
        with self._lock:
            return list(self._unresolved.values())

    @property
    def reload_state(self) -> tuple[bool, float]:
        """Whether the last config reload succeeded, and when one last did."""
        return self.telemetry.reload_state()

    def has_target(self, name: str) -> bool:
        with self._lock:
            return name in self._sources

    def apply_config(self, config: Config) -> None:
        """Replace changed targets; collections already running finish on the old clients."""
        with self._lock:
            current = dict(self._sources)
        sources = build_sources(config, self.telemetry, self.memory, current)
        with self._lock:
            self._sources, self.config = sources, config
            # Kept answers are keyed by targets and links: the old ones would never be asked
            # for again, and would hold their collections for the life of the process.
            self._gzip_cache = GzipCache()
            self._unresolved = {
                key: check for key, check in self._unresolved.items() if key[0] in config.links
            }
        for name, source in current.items():
            if sources.get(name) is not source:
                source.close()
        self.telemetry.record_reload(True, time.time())

    def reload_failed(self) -> None:
        self.telemetry.record_reload(False, time.time())

    def close(self) -> None:
        with self._lock:
            sources, self._sources = self._sources, {}
        for source in sources.values():
            source.close()

    def scrape(self, deadline: Deadline, target: str | None = None) -> Scrape:
        """Collect every target (or the one named) concurrently, at most until `deadline`."""
        return self.start_scrape(deadline, target).result()

    def start_scrape(self, deadline: Deadline, target: str | None = None) -> PendingScrape:
        """Start collecting every target (or the one named), without waiting.

        Every collection starts first, so waiting for them in turn costs no more than
        waiting for the slowest, and one slow target delays no other.
        """
        with self._lock:
            sources = [s for s in self._sources.values() if target in (None, s.name)]
            links = links_of(self.config.links, target)
            touching = links_touching(self.config.links, target)
            gzip_cache = self._gzip_cache

        def build(outcomes: list[TargetOutcome]) -> Scrape:
            checks = check_links(touching, {o.name: o.snapshot.names for o in outcomes})
            self._note_link_checks(checks)
            own = own_registry(outcomes, self.telemetry, process=target is None)
            return Scrape(outcomes, own, gzip_cache, links, checks)

        return PendingScrape([source.start(deadline) for source in sources], deadline, build)

    def _note_link_checks(self, checks: Sequence[LinkCheck]) -> None:
        """Keep the unresolved sides for the status page; log each change once, not on every
        scrape."""
        changed = []
        with self._lock:
            # A scrape started before a reload checks the links of the old config.
            for check in (c for c in checks if c.link in self.config.links):
                key = (check.link, check.side)
                before = self._unresolved.get(key)
                if check.missing:
                    self._unresolved[key] = check
                else:
                    self._unresolved.pop(key, None)
                if (before.missing if before else ()) != check.missing:
                    changed.append(check)
        for check in changed:
            if check.missing:
                log.warning(
                    "a configured link names something its target does not have: its "
                    "capacity-chain rules stay empty until the config is corrected",
                    extra={"side": check.side, "problem": describe_check(check)},
                )
            else:
                log.info("a configured link resolves again", extra={"side": check.side})
