"""Erlang B: the share of calls refused when `traffic` erlangs are offered to `channels`
channels and a refused call is lost (not queued). Pure arithmetic, no I/O."""

from __future__ import annotations

import math

# Far beyond any trunk: stops a search that would otherwise never end on a bad input.
MAX_CHANNELS = 1_000_000


def blocking(traffic: float, channels: int) -> float:
    """B(E, N) by the recurrence B(E, 0) = 1, B(E, n) = E B(E, n-1) / (n + E B(E, n-1)),
    which stays exact where the factorials of the closed form overflow."""
    _check_traffic(traffic)
    if channels < 0:
        raise ValueError(f"channels must be 0 or more, got {channels}")
    b = 1.0
    for n in range(1, channels + 1):
        b = traffic * b / (n + traffic * b)
        if b == 0.0:  # underflowed: every further channel keeps it 0, however many
            break
    return b


def channels_needed(traffic: float, grade_of_service: float) -> int:
    """The fewest channels that refuse at most `grade_of_service` of the calls."""
    _check_traffic(traffic)
    _check_grade(grade_of_service)
    if traffic == 0:
        return 0  # nothing offered, nothing refused (B(0, 0) is 1 by the recurrence alone)
    b, n = 1.0, 0
    while b > grade_of_service:
        n += 1
        if n > MAX_CHANNELS:
            raise ValueError(f"{traffic:g} erlangs need more than {MAX_CHANNELS} channels")
        b = traffic * b / (n + traffic * b)
    return n


def traffic_carried(channels: int, grade_of_service: float) -> float:
    """The most erlangs `channels` channels take at `grade_of_service` (the figure Erlang B
    tables print), found by bisection: blocking grows with the traffic."""
    _check_grade(grade_of_service)
    if channels < 1:
        return 0.0
    low, high = 0.0, float(channels) * 2 + 10
    for _ in range(200):
        middle = (low + high) / 2
        if blocking(middle, channels) > grade_of_service:
            high = middle
        else:
            low = middle
    return low


def _check_traffic(traffic: float) -> None:
    if not math.isfinite(traffic) or traffic < 0:
        raise ValueError(f"traffic must be a finite number of erlangs, 0 or more, got {traffic}")


def _check_grade(grade_of_service: float) -> None:
    if not 0 < grade_of_service < 1:
        raise ValueError(f"grade of service must be between 0 and 1, got {grade_of_service}")
