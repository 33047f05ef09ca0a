"""Shared fixtures: the simulated upstreams on loopback, and test certificates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator import Simulator
from tests.pki import Pki, make_pki


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory)
