"""Live active-call counts of simulated trunk groups.

A deterministic function of wall-clock time and the trunk group, so that two scrapes a few
seconds apart see the numbers move, tests can compute the expected value for any instant, and
no background thread is needed. The count never exceeds maxActiveCalls and never leaves the
band the trunk group's LoadProfile promises.
"""

from __future__ import annotations

import math
import zlib

from exporter.simulator.dataset import TrunkGroup

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
    """(incoming, outgoing) active calls at epoch time `at`.

    The total is rounded up, so a load fraction f guarantees at least f * maxActiveCalls calls;
    the split honours maxIncomingCalls / maxOutgoingCalls when the trunk group has them.
    """
    limit = trunk_group.max_active_calls
    if limit <= 0:
        return 0, 0
    total = min(limit, math.ceil(limit * load_fraction(trunk_group, at)))
    in_cap = total if trunk_group.max_incoming_calls is None else trunk_group.max_incoming_calls
    out_cap = total if trunk_group.max_outgoing_calls is None else trunk_group.max_outgoing_calls
    incoming = min(round(total * trunk_group.load.incoming_share), in_cap)
    outgoing = min(total - incoming, out_cap)
    incoming = min(total - outgoing, in_cap)
    return incoming, outgoing
