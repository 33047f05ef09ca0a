"""DIDWW trunks end to end: the exporter's /metrics against the simulated DIDWW account."""

from __future__ import annotations

import math
import time

import requests
from prometheus_client.metrics_core import Metric

from exporter.scrape.running import Exporter
from simulator import Simulator
from tests.helpers import parsed_families, sample_value, serving, simulator_config

TARGET = "didww-demo"


def scrape(simulator: Simulator) -> dict[str, Metric]:
    with serving(Exporter(simulator_config(simulator))) as url:
        response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return parsed_families(response.text)


def value(families: dict[str, Metric], name: str, **labels: str) -> float | None:
    return sample_value(families, name, target=TARGET, **labels)


def limit(capacity_limit: int | None) -> float:
    return math.inf if capacity_limit is None else capacity_limit


def test_every_simulated_trunk_is_exported_with_its_limits(simulator: Simulator) -> None:
    data = simulator.dataset.didww
    before = time.time()
    families = scrape(simulator)
    after = time.time()
    assert value(families, "didww_up") == 1

    group_names = {group.id: group.name for group in data.voice_in_trunk_groups}
    assert len(families["didww_voice_in_trunk_capacity_limit"].samples) == len(data.voice_in_trunks)
    for trunk in data.voice_in_trunks:
        labels = {
            "voice_in_trunk": trunk.name,
            "voice_in_trunk_group": group_names[trunk.group_id] if trunk.group_id else "",
        }
        got = value(families, "didww_voice_in_trunk_capacity_limit", **labels)
        assert got == limit(trunk.capacity_limit), trunk.name
        info = value(families, "didww_voice_in_trunk_info", **labels, voice_in_trunk_id=trunk.id)
        assert info == 1, trunk.name
    assert any(trunk.group_id is None for trunk in data.voice_in_trunks)
    for group in data.voice_in_trunk_groups:
        labels = {"voice_in_trunk_group": group.name}
        got = value(families, "didww_voice_in_trunk_group_capacity_limit", **labels)
        assert got == limit(group.capacity_limit), group.name
        members = sum(trunk.group_id == group.id for trunk in data.voice_in_trunks)
        assert value(families, "didww_voice_in_trunk_group_trunks", **labels) == members
        ids = {**labels, "voice_in_trunk_group_id": group.id}
        assert value(families, "didww_voice_in_trunk_group_info", **ids) == 1

    assert value(families, "didww_outbound_enabled") == 1
    for out in data.voice_out_trunks:
        labels = {"voice_out_trunk": out.name}
        got = value(families, "didww_voice_out_trunk_capacity_limit", **labels)
        assert got == limit(out.capacity_limit), out.name
        threshold = value(families, "didww_voice_out_trunk_threshold_amount", **labels)
        assert threshold == (None if out.threshold_amount is None else float(out.threshold_amount))
        reached = value(families, "didww_voice_out_trunk_threshold_reached", **labels)
        assert reached == float(out.threshold_reached)
        spent = value(families, "didww_voice_out_trunk_spent_amount", **labels)
        assert spent == float(out.spent_amount)
        ids = {**labels, "voice_out_trunk_id": out.id}
        assert value(families, "didww_voice_out_trunk_info", **ids) == 1
    # The demo balance burns down (dataset.Balance): the total of some instant of the scrape.
    total = value(families, "didww_account_total_balance")
    assert total is not None
    low, high = (float(data.balance.total_balance_at(t)) for t in (after, before))
    assert low <= total <= high


def test_an_account_without_outbound_plan_stays_up_with_outbound_disabled(
    simulator: Simulator,
) -> None:
    simulator.dataset.didww.outbound_plan = False
    families = scrape(simulator)
    assert value(families, "didww_up") == 1
    assert value(families, "didww_outbound_enabled") == 0
    assert "didww_voice_out_trunk_info" not in families
    assert value(families, "didww_voice_in_trunk_group_trunks", voice_in_trunk_group="Primary") == 2
    # The 403 is a request like any other, and not a collection error.
    requests_403 = sample_value(
        families,
        "trunk_capacity_exporter_upstream_requests_total",
        target=TARGET,
        endpoint="/voice_out_trunks",
        code="403",
    )
    assert requests_403 == 1
    errors = [
        sample.value
        for sample in families["trunk_capacity_exporter_collect_errors"].samples
        if sample.labels["target"] == TARGET and sample.name.endswith("_total")
    ]
    assert errors and set(errors) == {0}
