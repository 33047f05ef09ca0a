"""Shared fixtures: the simulated upstreams on loopback, test certificates, and the fixtures
that start processes, which make a test slow."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from simulator import Simulator
from tests.pki import Pki, make_pki
from tests.processes import Processes

# A test that uses one of these (directly or through another fixture) starts a process: the
# exporter's or the simulator's command line, a repository script, promtool, amtool,
# Prometheus or Alertmanager. It is marked slow, so `pytest -m "not slow"` leaves it out.
# (The certificates of `pki` are made by openssl, once per session: that does not count.)
PROCESS_FIXTURES = frozenset({"processes", "module_processes", "promtool", "amtool"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Children of this test, stopped when it ends."""
    with Processes() as started:
        yield started


@pytest.fixture(scope="module")
def module_processes() -> Iterator[Processes]:
    """Children shared by a module's tests (a real Prometheus, say), stopped after the last."""
    with Processes() as started:
        yield started


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found: install Debian's {package} package (make test does)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool", "prometheus-alertmanager")


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory)
