"""scripts/promtool_scenarios.py: annotation templates expanded as Prometheus expands them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "promtool_scenarios", ROOT / "scripts" / "promtool_scenarios.py"
)
assert _spec is not None and _spec.loader is not None
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)


def joined(function, values: list[float]) -> str:
    return "".join(f"{function(v)}:" for v in values)


# Expected strings are those of Prometheus's own template tests (template/template_test.go).
def test_humanize_matches_prometheus():
    assert joined(scenarios.humanize, [0.0, 1.0, 1234567.0, 0.12]) == "0:1:1.235M:120m:"
    assert scenarios.humanize(float("inf")) == "+Inf"


def test_humanize_duration_matches_prometheus():
    values = [0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99]
    assert (
        joined(scenarios.humanize_duration, values)
        == "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    )
    small = [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]
    assert (
        joined(scenarios.humanize_duration, small)
        == "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    )


def test_humanize_percentage_matches_prometheus():
    values = [0, 0.1234567, 0.5, 1, 1.5]
    assert joined(scenarios.humanize_percentage, values) == "0%:12.35%:50%:100%:150%:"


def test_a_plain_value_prints_as_go_does():
    assert [scenarios.go_float(v) for v in (42.0, 42.17, 1e-05, 1e21, float("nan"))] == [
        "42",
        "42.17",
        "1e-05",
        "1e+21",
        "NaN",
    ]


def test_expand_fills_labels_and_the_value():
    template = "{{ $labels.pool }} of {{$labels.target}} at {{ $value | humanizePercentage }}"
    assert scenarios.expand(template, {"pool": "A", "target": "t"}, 0.95) == "A of t at 95%"
    # Prometheus expands with missingkey=zero: a label the sample lacks is empty.
    assert scenarios.expand("[{{ $labels.nope }}]", {}, None) == "[]"


@pytest.mark.parametrize(
    ("template", "value", "problem"),
    [
        ("{{ $value }}", None, "give the alert a `value:`"),
        ("{{ $value | title }}", 1.0, "'title' is not supported"),
        ("{{ if $value }}x{{ end }}", 1.0, "unsupported template construct"),
    ],
)
def test_what_cannot_be_rendered_is_one_clear_error(template, value, problem):
    with pytest.raises(scenarios.ScenarioError, match=problem):
        scenarios.expand(template, {}, value)


ALERTS = [
    {
        "name": "g",
        "rules": [
            {
                "alert": "A",
                "expr": "x > 1",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "s", "description": "{{ $labels.t }} is {{ $value }}"},
            }
        ],
    }
]


def source(expected: str) -> str:
    return (
        "# about\ntests:\n- name: n\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: A\n"
        f"    exp_alerts:\n    - exp_labels: {{severity: warning, t: x}}\n{expected}"
    )


def test_render_fills_exp_annotations_and_the_rule_files():
    text = scenarios.render("n.yml", source("      value: 2.5\n"), ALERTS)
    assert "promtool test rules deploy/prometheus/tests/n.yml" in text
    assert "# about\n" in text
    assert "- ../rules/trunk-capacity-alerts.yml" in text
    assert "description: x is 2.5" in text and "value:" not in text


def test_render_names_the_case_of_a_missing_value():
    with pytest.raises(scenarios.ScenarioError, match=r"n\.yml: n, A at 1m: .*value"):
        scenarios.render("n.yml", source(""), ALERTS)


def test_an_unquoted_hex_looking_series_is_refused():
    text = "tests:\n- name: n\n  input_series:\n  - series: x\n    values: 0x60\n"
    with pytest.raises(scenarios.ScenarioError, match="quote it"):
        scenarios.render("n.yml", text, ALERTS)
