"""Render the promtool scenario sources (deploy/mixin/tests/) into shipped promtool tests.

promtool compares an alert's annotations in full, so a shipped test must spell out what the
mixin's annotation templates say. A scenario source is a `promtool test rules` file without
`rule_files` (the shipped ones are put in) whose `exp_alerts` carry labels only, plus `value:`
where the alert's annotations show `$value`; this fills in `exp_annotations` by expanding the
rule's templates with those labels and that value, as Prometheus does. promtool then checks
both: a wrong value is a wrong annotation.
scripts/generate_mixin.py calls render() for every source (`make mixin`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import yaml

SOURCE_HEADER = """\
# GENERATED from deploy/mixin/tests/{name} by scripts/generate_mixin.py (`make mixin`): the
# expected annotations are the mixin's templates expanded. Do not edit: change the source.
# Run as shipped, from the repository root: promtool test rules deploy/prometheus/tests/{name}
"""

# The rendered tests sit in deploy/prometheus/tests/, next to the rule files' directory; promtool
# resolves these relative to the test file, so the tests run from any working directory.
RULE_FILES = ["../rules/trunk-capacity-recording.yml", "../rules/trunk-capacity-alerts.yml"]

# `{{ $labels.name }}`, `{{ $value }}` and `{{ $value | function }}`: all the mixin's templates
# use. Anything else is refused rather than guessed.
PLACEHOLDER = re.compile(
    r"\{\{\s*(?:\$labels\.(?P<label>[A-Za-z_]\w*)|(?P<value>\$value))"
    r"(?:\s*\|\s*(?P<function>\w+))?\s*\}\}"
)


class ScenarioError(ValueError):
    """A scenario source the annotations cannot be rendered for."""


def _go_special(v: float) -> str | None:
    """How Go prints the floats Python spells differently."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return None


def _go_g4(v: float) -> str:
    """Go's fmt `%.4g` (the same as Python's for finite numbers)."""
    return _go_special(v) or f"{v:.4g}"


def go_float(v: float) -> str:
    """A float64 as Go's text/template prints it (`%v`: shortest, exponent from 1e21)."""
    special = _go_special(v)
    if special:
        return special
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    # Python's repr is shortest too, with Go's exponent form under 1e-4 (1.5e-05).
    return repr(v)


def humanize(v: float) -> str:
    """Prometheus's `humanize`: metric prefixes, 4 significant digits."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _go_g4(v)
    prefixes = ["k", "M", "G", "T", "P", "E", "Z", "Y"] if abs(v) >= 1 else []
    small = ["m", "u", "n", "p", "f", "a", "z", "y"] if abs(v) < 1 else []
    prefix = ""
    for p in prefixes:
        if abs(v) < 1000:
            break
        prefix, v = p, v / 1000
    for p in small:
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _go_g4(v) + prefix


def humanize_percentage(v: float) -> str:
    return _go_g4(v * 100) + "%"


def humanize_duration(v: float) -> str:
    """Prometheus's `humanizeDuration`: days to seconds, or 4 digits under a second."""
    special = _go_special(v)
    if special:
        return special
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        whole = int(abs(v))
        days, rest = divmod(whole, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g4(abs(v))}s"
    prefix = ""
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"]:
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_go_g4(v)}{prefix}s"


FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
}


def uses_value(template: str) -> bool:
    return any(m["value"] for m in PLACEHOLDER.finditer(template))


def expand(template: str, labels: dict[str, str], value: float | None) -> str:
    """`template` as Prometheus expands it for a sample with these labels and this value."""

    def one(match: re.Match[str]) -> str:
        if match["label"]:
            if match["function"]:
                raise ScenarioError(f"a function on a label is not supported: {match[0]}")
            # Prometheus expands with missingkey=zero: an absent label is empty.
            return labels.get(match["label"], "")
        if value is None:
            raise ScenarioError(f"the annotation shows {match[0]}: give the alert a `value:`")
        function = match["function"]
        if function is None:
            return go_float(value)
        if function not in FUNCTIONS:
            raise ScenarioError(f"template function {function!r} is not supported")
        return FUNCTIONS[function](value)

    text = PLACEHOLDER.sub(one, template)
    if "{{" in text:
        raise ScenarioError(f"unsupported template construct in {template!r}")
    return text


def _rule_for(alerts: dict[tuple[str, str], dict[str, Any]], name: str, labels: dict) -> dict:
    key = (name, str(labels.get("severity", "")))
    if key not in alerts:
        raise ScenarioError(f"no alert rule {name} with severity {key[1]!r}")
    return alerts[key]


def _expected(rule: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """One exp_alerts entry with its annotations filled in."""
    labels = {str(k): str(v) for k, v in expected.get("exp_labels", {}).items()}
    value = expected.get("value")
    # $labels holds the sample's labels, not the ones the rule adds.
    sample = {k: v for k, v in labels.items() if k not in rule.get("labels", {})}
    annotations = rule.get("annotations", {})
    needs_value = any(uses_value(t) for t in annotations.values())
    if value is not None and not needs_value:
        raise ScenarioError(f"{rule['alert']}: `value:` given, but no annotation shows $value")
    return {
        "exp_labels": labels,
        "exp_annotations": {
            key: expand(template, sample, None if value is None else float(value))
            for key, template in annotations.items()
        },
    }


def _check_values(name: str, test: dict[str, Any]) -> None:
    """YAML reads an unquoted `0x60` (zero, 60 times) as the number 96: refuse non-strings."""
    for series in test.get("input_series", []):
        if not isinstance(series.get("values"), str):
            raise ScenarioError(
                f"{name}: {series.get('series')}: values {series.get('values')!r} is not a "
                "string: quote it ('0x60' is zero 60 times, unquoted YAML reads 96)"
            )


def render(name: str, source: str, groups: list[dict[str, Any]]) -> str:
    """The shipped test file of scenario source `name` (its text `source`); `groups` are the
    rule groups of RULE_FILES, in their order."""
    alerts = {
        (rule["alert"], str(rule.get("labels", {}).get("severity", ""))): rule
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }
    # Without an order promtool evaluates the groups in a random one at each step; an alert on a
    # recorded series then sees it only if its group came second, which at hourly evaluations
    # (forecasts) is a coin toss. Prometheus's own 1-minute evaluations never notice.
    order = {"group_eval_order": [group["name"] for group in groups]}
    document = {"rule_files": RULE_FILES} | order | yaml.safe_load(source)
    for test in document.get("tests", []):
        _check_values(name, test)
        for case in test.get("alert_rule_test", []):
            try:
                case["exp_alerts"] = [
                    _expected(_rule_for(alerts, case["alertname"], e.get("exp_labels", {})), e)
                    for e in case.get("exp_alerts") or []
                ]
            except ScenarioError as exc:
                where = f"{test.get('name', '?')}, {case['alertname']} at {case['eval_time']}"
                raise ScenarioError(f"{name}: {where}: {exc}") from None
    leading = _leading_comments(source)
    body = yaml.safe_dump(document, sort_keys=False, width=1_000_000, allow_unicode=True)
    return SOURCE_HEADER.format(name=name) + leading + body


def _leading_comments(source: str) -> str:
    """The source's opening comment block: what the scenarios of the file are about."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line + "\n")
    return "".join(lines)
