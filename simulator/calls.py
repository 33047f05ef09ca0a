"""Live active-call counts of simulated trunk groups.

A deterministic function of wall-clock time and the trunk group, so that two scrapes a few
seconds apart see the numbers move, tests can compute the expected value for any instant, and
no background thread is needed.

Each trunk group has a demand (`active_calls`: its LoadProfile, never above maxActiveCalls).
What BroadWorks lets through (`admitted_calls`) is that demand cut down, as BroadWorks refuses
calls, to the group's and the service provider's effective caps: maxActiveCalls plus the
bursting allowance that trunk groups with bursting on can use. So live calls are never above
any effective limit, as on a real system.
"""

from __future__ import annotations

import math
import threading
import zlib

from simulator.dataset import ServiceProvider, TrunkGroup

NOISE_STEP = 20.0  # seconds during which the small jitter term stays constant
_WAVE_WEIGHT = 0.75  # the rest of the swing is the jitter; the sum stays within [-1, 1]


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) for `text` (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode()) / 2**32


def load_fraction(trunk_group: TrunkGroup, at: float) -> float:
    """The fraction of maxActiveCalls in use at epoch time `at`, within base +/- swing."""
    load = trunk_group.load
    phase = 2 * math.pi * _unit_hash(trunk_group.name)
    wave = math.sin(2 * math.pi * at / load.period + phase)
    jitter = 2 * _unit_hash(f"{trunk_group.name}:{int(at // NOISE_STEP)}") - 1
    fraction = load.base + load.swing * (_WAVE_WEIGHT * wave + (1 - _WAVE_WEIGHT) * jitter)
    return min(1.0, max(0.0, fraction))


def active_calls(trunk_group: TrunkGroup, at: float) -> tuple[int, int]:
    """(incoming, outgoing) calls the trunk group's callers attempt at epoch time `at`.

    The total is rounded up, so a load fraction f guarantees at least f * maxActiveCalls calls;
    the split honours maxIncomingCalls / maxOutgoingCalls when the trunk group has them.
    """
    limit = trunk_group.max_active_calls
    if limit <= 0:
        return 0, 0
    return _split(trunk_group, min(limit, math.ceil(limit * load_fraction(trunk_group, at))))


def admitted_calls(sp: ServiceProvider, at: float) -> dict[str, tuple[int, int]]:
    """(incoming, outgoing) per trunk group name of `sp` once the caps refused the excess."""
    if sp.max_active_calls is None:
        return {}
    by_name: dict[str, TrunkGroup] = {}
    admitted: dict[str, int] = {}
    for group in sp.groups:
        if group.trunking is None:
            continue
        trunk_groups = group.trunking.trunk_groups
        by_name.update((tg.name, tg) for tg in trunk_groups)
        demand = {tg.name: sum(active_calls(tg, at)) for tg in trunk_groups}
        cap = effective_cap(
            group.trunking.max_active_calls,
            group.trunking.bursting_max_active_calls,
            trunk_groups,
        )
        admitted.update(_cut_to(demand, cap))
    cap = effective_cap(sp.max_active_calls, sp.bursting_max_active_calls, list(by_name.values()))
    return {name: _split(by_name[name], n) for name, n in _cut_to(admitted, cap).items()}


class CallAdmission:
    """admitted_calls() of each service provider, computed once per second of clock time.

    Every trunk-group detail of one scrape asks within the same second or two; computing the
    whole service provider for each of them would make the simulator, not the exporter, the
    slow part of a benchmark. The instant is rounded down to the second, so a memoised answer is
    exactly admitted_calls(sp, that second).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[int, dict[str, tuple[int, int]]]] = {}

    def of(self, sp: ServiceProvider, trunk_group: TrunkGroup, at: float) -> tuple[int, int]:
        """(incoming, outgoing) of `trunk_group` of `sp` at the second of `at`."""
        second = math.floor(at)
        with self._lock:
            memo = self._memo.get(sp.id)
        if memo is None or memo[0] != second:
            memo = (second, admitted_calls(sp, float(second)))
            with self._lock:
                self._memo[sp.id] = memo
        return memo[1][trunk_group.name]


def effective_cap(max_calls: int, bursting: int, trunk_groups: list[TrunkGroup]) -> float:
    """maxActiveCalls plus the bursting its trunk groups with bursting on can use (-1: none)."""
    if max_calls < 0:
        return math.inf
    usable = sum(tg.bursting_max_active_calls for tg in trunk_groups if tg.enable_bursting)
    return max_calls + (usable if bursting < 0 else min(bursting, usable))


def _cut_to(demand: dict[str, int], cap: float) -> dict[str, int]:
    """Shares of `cap` in proportion to the demand when the demand is above it."""
    total = sum(demand.values())
    if total <= cap:
        return dict(demand)
    exact = {name: n * cap / total for name, n in demand.items()}
    shares = {name: math.floor(x) for name, x in exact.items()}
    # The calls lost to rounding go to the largest remainders (by name on a tie: deterministic).
    left = int(cap) - sum(shares.values())
    for name in sorted(exact, key=lambda n: (shares[n] - exact[n], n))[:left]:
        shares[name] += 1
    return shares


def _split(trunk_group: TrunkGroup, total: int) -> tuple[int, int]:
    """Incoming and outgoing parts of `total`, within the per-direction limits."""
    max_in, max_out = trunk_group.max_incoming_calls, trunk_group.max_outgoing_calls
    in_cap = total if max_in is None else max_in
    out_cap = total if max_out is None else max_out
    incoming = min(round(total * trunk_group.load.incoming_share), in_cap)
    outgoing = min(total - incoming, out_cap)
    incoming = min(total - outgoing, in_cap)
    return incoming, outgoing
