"""The exporter's HTTP server end to end, against the simulated upstreams on loopback."""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from exporter.exporter import Exporter
from exporter.simulator import Fault, Simulator
from tests.helpers import serving, simulator_config

REPORTS = "/service-providers/trunk-groups/call-capacity/reports"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(parsed: dict, name: str, **labels: str) -> float | None:
    return parsed.get((name, frozenset(labels.items())))


def test_metrics_exports_both_apis_with_the_simulators_values(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    parsed = samples(response.text)
    assert value(parsed, "odin_up", target="odin-demo") == 1
    assert value(parsed, "didww_up", target="didww-demo") == 1
    for sp in simulator.dataset.odin.service_providers:
        labels = {"target": "odin-demo", "service_provider": sp.id}
        trunking = any(group.trunking for group in sp.groups)
        # An SP without trunking is a standing fact, not a failure: up, trunking disabled.
        assert value(parsed, "odin_service_provider_up", **labels) == 1, sp.id
        enabled = value(parsed, "odin_service_provider_trunking_enabled", **labels)
        assert enabled == (1 if trunking else 0), sp.id
        if not trunking:
            assert value(parsed, "odin_service_provider_max_active_calls", **labels) is None
            continue
        cap = math.inf if sp.max_active_calls == -1 else sp.max_active_calls
        assert value(parsed, "odin_service_provider_max_active_calls", **labels) == cap
        for group in sp.groups:
            if group.trunking is None:
                continue
            got = value(parsed, "odin_group_max_active_calls", **labels, group=group.id)
            assert got == group.trunking.max_active_calls, group.id
            for trunk_group in group.trunking.trunk_groups:
                tg_labels = {**labels, "group": group.id, "trunk_group": trunk_group.name}
                limit = value(parsed, "odin_trunk_group_max_active_calls", **tg_labels)
                assert limit == trunk_group.max_active_calls
                active = sum(
                    value(parsed, "odin_trunk_group_active_calls", **tg_labels, direction=d)
                    for d in ("incoming", "outgoing")
                )
                assert 0 <= active <= limit
    for pool in simulator.dataset.didww.capacity_pools:
        labels = {"target": "didww-demo", "pool": pool.name}
        assert value(parsed, "didww_capacity_pool_total_channels", **labels) == (
            pool.total_channels_count
        )
        assert value(parsed, "didww_capacity_pool_unassigned_channels", **labels) == (
            pool.total_channels_count - pool.assigned_channels_count
        )
    assert value(parsed, "trunk_capacity_exporter_data_age_seconds", target="odin-demo") == 0


def test_probe_exports_only_the_named_target(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/probe", params={"target": "didww-demo"}, timeout=10)
    assert response.status_code == 200
    parsed = samples(response.text)
    assert value(parsed, "didww_up", target="didww-demo") == 1
    assert not any(name.startswith("odin_") and labels for (name, labels) in parsed)
    assert not any(dict(labels).get("target") == "odin-demo" for (_, labels) in parsed)
    assert value(parsed, "trunk_capacity_exporter_build_info") is None


@pytest.mark.parametrize(
    "query",
    [
        {"target": "nope"},
        {"target": "http://169.254.169.254/latest"},
        {"target": "odin-demo\r\nX-Injected: 1"},
        {},
        {"target": ["odin-demo", "didww-demo"]},
        {"target": "odin-demo", "module": "x"},
    ],
)
def test_probe_refuses_anything_but_one_configured_name(simulator: Simulator, query: dict) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/probe", params=query, timeout=10)
    assert response.status_code == 400
    assert simulator.stats.count("odin") == 0
    assert simulator.stats.count("didww") == 0


def test_healthy_touches_no_upstream_and_nothing_collects_at_start(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/-/healthy", timeout=5)
        landing = requests.get(f"{url}/", timeout=5)
    assert response.status_code == 200
    assert landing.status_code == 200
    assert "didww-demo" in landing.text
    assert simulator.stats.count("odin") == 0
    assert simulator.stats.count("didww") == 0


def test_openmetrics_by_content_negotiation_and_gzip(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(
            f"{url}/metrics",
            headers={
                "Accept": "application/openmetrics-text; version=1.0.0",
                "Accept-Encoding": "gzip",
            },
            timeout=10,
            stream=True,
        )
        raw = response.raw.read()
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.headers["Content-Encoding"] == "gzip"
    text = gzip.decompress(raw).decode()
    assert text.rstrip().endswith("# EOF")
    assert 'odin_up{target="odin-demo"} 1.0' in text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("POST", "/metrics", 405),
        ("DELETE", "/probe", 405),
        ("GET", "/-/reload", 405),
    ],
)
def test_unknown_paths_and_methods(
    simulator: Simulator, method: str, path: str, status: int
) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.request(method, f"{url}{path}", timeout=5)
    assert response.status_code == status


def test_hostile_query_strings_get_4xx(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        too_long = requests.get(f"{url}/probe?target={'a' * 5000}", timeout=5)
        not_utf8 = requests.get(f"{url}/probe?target=%ff%fe", timeout=5)
        unknown = requests.get(f"{url}/metrics?debug=1", timeout=5)
    assert too_long.status_code == 414
    assert not_utf8.status_code == 400
    assert unknown.status_code == 400
    assert simulator.stats.count("odin") == 0


def test_one_failing_sp_and_one_failing_target_leave_the_rest(simulator: Simulator) -> None:
    simulator.inject(
        Fault(
            api="odin",
            path=REPORTS,
            match={"serviceProviderId": "ent.acme"},
            kind="html",
            status=502,
        )
    )
    simulator.inject(Fault(api="didww", path="/balance", kind="status", status=401))
    with serving(Exporter(simulator_config(simulator))) as url:
        parsed = samples(requests.get(f"{url}/metrics", timeout=15).text)
    assert value(parsed, "odin_up", target="odin-demo") == 1
    assert (
        value(parsed, "odin_service_provider_up", target="odin-demo", service_provider="ent.acme")
        == 0
    )
    assert (
        value(parsed, "odin_service_provider_up", target="odin-demo", service_provider="ent.globex")
        == 1
    )
    assert (
        value(
            parsed,
            "odin_service_provider_max_active_calls",
            target="odin-demo",
            service_provider="ent.acme",
        )
        is None
    )
    assert value(parsed, "didww_up", target="didww-demo") == 0
    assert value(parsed, "didww_account_balance", target="didww-demo") is None
    assert (
        value(parsed, "didww_capacity_pool_total_channels", target="didww-demo", pool="Extended")
        is not None
    )
    assert (
        value(
            parsed,
            "trunk_capacity_exporter_collect_errors_total",
            target="didww-demo",
            reason="auth",
        )
        == 1
    )
    assert (
        value(
            parsed,
            "trunk_capacity_exporter_collect_errors_total",
            target="odin-demo",
            reason="http_error",
        )
        >= 1
    )


def test_demo_exposition_passes_promtool_check_metrics() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: install Debian's prometheus package (make test does)")
    once = subprocess.run(
        [sys.executable, "-m", "exporter", "--demo", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert once.returncode == 0, once.stderr
    assert "odin_up" in once.stdout and "didww_up" in once.stdout
    check = subprocess.run(
        [promtool, "check", "metrics"],
        input=once.stdout,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""
