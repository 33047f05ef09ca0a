"""Shared fixtures: the simulated upstreams on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.simulator import Simulator


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim
