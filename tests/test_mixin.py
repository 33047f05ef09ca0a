"""The shipped rules and dashboards are what deploy/mixin renders; its _config overrides work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "generate_mixin.py"
JOB = 'job="trunk-capacity-exporter", instance="exporter:10042"'

Generator = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def generator(processes: Processes) -> Generator:
    """scripts/generate_mixin.py run with the given arguments."""

    def generate(*args: str) -> subprocess.CompletedProcess[str]:
        return processes.run([sys.executable, str(GENERATOR), *args], cwd=ROOT, timeout=60)

    return generate


@pytest.mark.slow
def test_committed_files_are_the_mixin_output(generator: Generator):
    result = generator("--check")
    assert result.returncode == 0, "run `make mixin`:\n" + result.stderr


@pytest.mark.slow
def test_the_check_notices_a_hand_edit(tmp_path, generator: Generator):
    """Guard against a vacuous check: a rule file differing from the mixin is reported."""
    out = tmp_path / "out"
    assert generator("--out", str(out)).returncode == 0
    assert generator("--check", "--out", str(out)).returncode == 0
    alerts = out / "deploy" / "prometheus" / "rules" / "trunk-capacity-alerts.yml"
    alerts.write_text(alerts.read_text().replace("for: 10m", "for: 11m"))
    result = generator("--check", "--out", str(out))
    assert result.returncode == 1
    assert "trunk-capacity-alerts.yml is out of date" in result.stderr


def test_a_level_with_one_severity_for_both_degrees_is_refused(tmp_path, generator: Generator):
    mixin = tmp_path / "same.jsonnet"
    mixin.write_text(
        "(import 'mixin.libsonnet') + { _config+:: { severities+: "
        "{ group: { atLimit: 'warning', nearLimit: 'warning' } } } }"
    )
    result = generator("--mixin", str(mixin), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "a level needs two severities" in result.stderr


def test_a_broken_mixin_is_one_clear_error(tmp_path, generator: Generator):
    broken = tmp_path / "broken.jsonnet"
    broken.write_text("(import 'mixin.libsonnet') + { _config+:: { balanceLowThreshold: } }")
    result = generator("--mixin", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(broken) in result.stderr and "Traceback" not in result.stderr


OVERRIDES = """
(import 'mixin.libsonnet') + {
  _config+:: {
    exporterJobs: ['trunk-capacity-exporter', 'trunk-capacity-probe'],
    balanceLowOverrides: [{ target: 'rich', value: 100 }],
    saturationWarningOverrides: [{ target: 'odin', service_provider: 'calm', value: 0.9 }],
    runbookURLPattern: 'https://wiki.example.com/runbooks#%s',
    // Trunk groups carrying the operator's own traffic: at the limit pages, near it tickets.
    severities+: { trunkGroup: { atLimit: 'critical', nearLimit: 'warning' } },
  },
}
"""


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join([JOB] + [f'{k}="{v}"' for k, v in labels.items()])
    return {"series": f"{name}{{{inner}}}", "values": values}


def trunk_group(sp: str, calls: str) -> list[dict[str, str]]:
    labels = {"target": "odin", "service_provider": sp, "group": "g", "trunk_group": "tg"}
    return [
        series("odin_service_provider_up", "1x30", target="odin", service_provider=sp),
        series("odin_trunk_group_max_active_calls", "100x30", **labels),
        series("odin_trunk_group_bursting_max_active_calls", "0x30", **labels),
        series("odin_trunk_group_active_calls", f"{calls}x30", direction="incoming", **labels),
        series("odin_trunk_group_active_calls", "0x30", direction="outgoing", **labels),
    ]


def warning(value: float, **labels: str) -> dict:
    """An expected warning; `value` is what its annotations show as $value."""
    job = {"job": "trunk-capacity-exporter", "instance": "exporter:10042"}
    return {"exp_labels": {"severity": "warning", **job, **labels}, "value": value}


@pytest.mark.slow
def test_config_overrides_apply_per_account_and_service_provider(
    tmp_path, generator: Generator, processes: Processes, promtool: str
):
    """Rendered with the user's own scenarios (--scenarios), the tests pass plain promtool
    with the overridden runbook links in their expected annotations."""
    mixin = tmp_path / "my.jsonnet"
    mixin.write_text(OVERRIDES)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    tests = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    series("up", "1x30"),
                    series("didww_account_balance", "80x30", target="rich"),
                    series("didww_account_balance", "80x30", target="poor"),
                    # 85 of 100: above the default 0.8, below calm's override of 0.9.
                    *trunk_group("calm", "85"),
                    *trunk_group("busy", "85"),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "20m",
                        "alertname": "TrunkCapacityBalanceLow",
                        "exp_alerts": [warning(80, target="rich")],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "TrunkCapacityTrunkGroupSaturated",
                        "exp_alerts": [
                            warning(
                                0.85,
                                target="odin",
                                service_provider="busy",
                                group="g",
                                trunk_group="tg",
                            )
                        ],
                    },
                    {
                        "eval_time": "11m",
                        "alertname": "TrunkCapacityExporterJobAbsent",
                        "exp_alerts": [
                            {"exp_labels": {"severity": "warning", "job": "trunk-capacity-probe"}}
                        ],
                    },
                ],
            }
        ],
    }
    (scenarios / "overrides.yml").write_text(yaml.safe_dump(tests))
    out = tmp_path / "out"
    result = generator("--mixin", str(mixin), "--out", str(out), "--scenarios", str(scenarios))
    assert result.returncode == 0, result.stderr
    test_file = out / "deploy" / "prometheus" / "tests" / "overrides.yml"
    assert "https://wiki.example.com/runbooks#trunkcapacitybalancelow" in test_file.read_text()
    result = processes.run([promtool, "test", "rules", str(test_file)], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
