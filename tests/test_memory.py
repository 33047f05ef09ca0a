"""The memory budget of collections (issue 21, first row): counted as answers are parsed and
summed over pages; what does not fit is an error of its collection, which keeps what it has."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import requests

from exporter.cli import main
from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.memory import MIB, MemoryBudget, MemoryLimits, parsed_size
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.client import INCLUDED_TYPES
from exporter.vendors.didww.config import DidwwRefresh, DidwwTarget
from exporter.vendors.didww.models import parse_page
from simulator import Simulator
from tests.helpers import parsed_families, sample_value, simulator_config
from tests.hostile_didww import API_KEY, Flood, hostile_didww
from tests.processes import Processes


def _compact(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


rng = random.Random(7)
SHAPES = {
    "tiny objects": _compact([{"type": "dids", "id": str(i)} for i in range(50_000)]),
    "empty objects": _compact([{} for _ in range(200_000)]),
    "empty lists": _compact([[] for _ in range(200_000)]),
    "small ints": _compact([1] * 300_000),
    "floats": _compact([rng.random() for _ in range(100_000)]),
    "long strings": _compact(["x" * i for i in range(2_000)]),
    "non-ASCII": json.dumps(["\u20ac" * 100] * 5_000, ensure_ascii=False).encode(),
    "escaped": json.dumps(["\u20ac" * 100] * 5_000).encode(),
    "literals": _compact([True, False, None] * 100_000),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_estimate_is_above_what_parsing_allocates(shape: str) -> None:
    body = SHAPES[shape]
    tracemalloc.start()
    try:
        parsed = json.loads(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed is not None
    assert peak <= parsed_size(body) <= 8 * peak + 64 * 1024


def test_an_account_refuses_past_its_limit_and_gives_everything_back_when_closed() -> None:
    budget = MemoryBudget(MemoryLimits(per_collection=10 * MIB, total=15 * MIB))
    first, second = budget.account(), budget.account()
    with first.charge(6 * MIB, "/x"):
        assert budget.used == 6 * MIB
    assert budget.used == 0
    first.hold(8 * MIB, "/x", "page 1")
    with pytest.raises(UpstreamError) as error:
        first.hold(3 * MIB, "/x", "page 2")
    assert error.value.reason == "invalid_response"
    assert "beyond the collection's memory budget of 10 MiB" in error.value.detail
    # Another collection fits its own limit, but not the process's total.
    with pytest.raises(UpstreamError, match="all collections' memory budget of 15 MiB"):
        second.hold(8 * MIB, "/y", "page 1")
    assert budget.used == 8 * MIB
    first.close()
    assert budget.used == 0
    second.hold(8 * MIB, "/y", "page 1")
    with pytest.raises(UpstreamError):
        first.hold(1, "/x", "a call that outlived its collection")
    second.close()
    assert budget.used == 0


def test_a_page_keeps_only_the_included_types_it_asked_for() -> None:
    document = {
        "data": [{"type": "shared_capacity_groups", "id": "g1", "attributes": {"name": "G"}}],
        "included": [
            {"type": "capacity_pools", "id": "p1", "attributes": {"name": "P"}},
            *({"type": "dids", "id": str(i)} for i in range(1_000)),
            {"id": "no type"},
        ],
    }
    page = parse_page(document, INCLUDED_TYPES["capacity_pool"])
    assert [(r.type, r.id) for r in page.included] == [("capacity_pools", "p1")]
    assert page.problems == ("included[1001].type is missing, expected a non-empty string",)
    flooded = parse_page(document, frozenset({"dids"}))
    assert flooded.size > 100 * page.size


def didww_config(url: str, max_concurrency: int = 4) -> Config:
    target = DidwwTarget(
        name="hostile",
        url=url,
        api_key=Secret(API_KEY),
        rate_limit=0.0,
        max_concurrency=max_concurrency,
        refresh=DidwwRefresh(pools=0.0, groups=0.0, trunks=0.0, did_counts=0.0),
    )
    return Config(targets=(target,))


@pytest.mark.slow
def test_pages_that_each_fit_but_not_together_fail_their_collection_which_keeps_the_rest() -> None:
    # Every page's objects are of the type asked for, so each is kept: about 8 MB a page.
    flood = Flood(pages=20, per_page=2_000, included_type="capacity_pools", name_bytes=4_000)
    with hostile_didww(flood) as upstream:
        exporter = Exporter(didww_config(upstream.url))
        try:
            scrape = exporter.scrape(Deadline(30))
            (outcome,) = scrape.outcomes
            families = parsed_families(scrape.chunks(openmetrics=False))
            assert exporter.memory.used == 0, "the collection gave its memory back"
        finally:
            exporter.close()
    errors = outcome.snapshot.errors
    assert any("beyond the collection's memory budget of 48 MiB" in e.detail for e in errors)
    assert {e.reason for e in errors} == {"invalid_response"}
    assert sample_value(families, "didww_up", target="hostile") == 0
    # What fitted is kept: the balance, and the pools, which the budget did not cut.
    assert sample_value(families, "didww_account_balance", target="hostile") == 10.0
    # Pages of 8 MB: the 48 MiB stop the reading well before the 20th, and no page of the
    # kind is asked for once one did not fit.
    assert upstream.requests("/shared_capacity_groups") < 12
    assert upstream.requests("/capacity_pools") <= 20


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_flood_of_included_objects_downs_its_target_and_not_the_process(
    processes: Processes, simulator: Simulator, tmp_path: Path
) -> None:
    """The issue's attack: 120 gzip pages, each 175,000 tiny `included` objects."""
    odin = simulator_config(simulator).targets[0]
    with hostile_didww() as upstream:
        config = tmp_path / "config.yml"
        config.write_text(
            "odin:\n"
            f"  - name: odin\n    url: {odin.url}\n    username: {simulator.odin_username}\n"
            f"    password: {simulator.odin_password}\n    discover: true\n    rate_limit: 0\n"
            "didww:\n"
            f"  - name: hostile\n    url: {upstream.url}\n    api_key: {API_KEY}\n"
            "    rate_limit: 0\n"
        )
        exporter = processes.start_exporter(
            "--config.file", str(config), "--web.listen-address=127.0.0.1:0"
        )
        url = exporter.url()
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": "30"}
        for _ in range(3):
            response = requests.get(f"{url}/metrics", headers=headers, timeout=35)
            families = parsed_families(response.text)
            assert sample_value(families, "odin_up", target="odin") == 1
            assert sample_value(families, "didww_up", target="hostile") == 0
        errors = sample_value(
            families,
            "trunk_capacity_exporter_collect_errors_total",
            target="hostile",
            reason="invalid_response",
        )
        peak = peak_rss_mib(exporter.pid)
        log = exporter.stop()
    assert errors is not None and errors >= 3
    assert "memory budget of 48 MiB" in log
    # Without the budget this peaked at 2.8 GB; the Kubernetes manifest allows 256 MiB.
    assert peak < 200, f"peak RSS {peak:.0f} MiB"


def test_a_collection_budget_above_the_total_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--demo", "--memory.per-collection-mib=200", "--memory.total-mib=96"])
    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "--memory.per-collection-mib 200 is more than --memory.total-mib 96, "
        "which every collection shares"
    )
