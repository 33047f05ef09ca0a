#!/usr/bin/env python3
"""Render the monitoring mixin (deploy/mixin) into the files the repository ships.

deploy/mixin/*.libsonnet is the one source of the Prometheus rules and the Grafana dashboards;
this writes the rule files Prometheus loads (deploy/prometheus/rules/), the Prometheus Operator's
PrometheusRule (deploy/kubernetes/base/prometheusrule.yaml, through
scripts/generate_prometheusrule.py), the dashboards Grafana provisions (grafana/dashboards/) and
the promtool tests (deploy/prometheus/tests/, from the scenarios in deploy/mixin/tests/ through
scripts/promtool_scenarios.py).
tests/test_mixin.py fails while a committed file differs from what this renders.

    python scripts/generate_mixin.py          # rewrite the generated files (`make mixin`)
    python scripts/generate_mixin.py --check  # exit 1 if one is out of date
    python scripts/generate_mixin.py --mixin my.jsonnet --out build/  # your own _config
    ... --scenarios my-scenarios/  # and promtool tests of your own scenarios
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import _jsonnet
import yaml

ROOT = Path(__file__).resolve().parent.parent
MIXIN = ROOT / "deploy" / "mixin" / "mixin.libsonnet"
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
RECORDING = RULES_DIR / "trunk-capacity-recording.yml"
ALERTS = RULES_DIR / "trunk-capacity-alerts.yml"
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
# promtool scenario sources, and the tests rendered from them (expected annotations filled in).
SCENARIO_DIR = ROOT / "deploy" / "mixin" / "tests"
TESTS_DIR = ROOT / "deploy" / "prometheus" / "tests"

HEADER = """\
# GENERATED from deploy/mixin by scripts/generate_mixin.py (`make mixin`). Do not edit: change
# the mixin (thresholds and selectors are in deploy/mixin/config.libsonnet) and regenerate.
"""


def evaluate(mixin: Path = MIXIN) -> dict[str, Any]:
    """The mixin's three outputs as plain data."""
    snippet = (
        f"local m = import {json.dumps(mixin.name)};\n"
        "{rules: m.prometheusRules, alerts: m.prometheusAlerts, dashboards: m.grafanaDashboards}"
    )
    # Your own file may import the mixin as `mixin.libsonnet` or by its path in the repository.
    search = [str(mixin.parent), str(MIXIN.parent), str(ROOT)]
    text = _jsonnet.evaluate_snippet(str(mixin), snippet, jpathdir=search)
    result: dict[str, Any] = json.loads(text)
    return result


def _script_module(name: str) -> Any:
    """A module of scripts/: generate_prometheusrule wraps rule groups in a PrometheusRule and
    writes multi-line strings (PromQL, descriptions) as literal blocks; promtool_scenarios
    fills the expected annotations into the promtool tests."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROMETHEUSRULE = _script_module("generate_prometheusrule")
SCENARIOS = _script_module("promtool_scenarios")


# Jsonnet sorts object keys; a rule reads better in the order Prometheus documents it.
RULE_KEY_ORDER = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")
ANNOTATION_ORDER = ("summary", "description", "runbook_url")


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {key: mapping[key] for key in order if key in mapping} | mapping


def rule_file(document: dict[str, Any]) -> str:
    groups = [
        {
            "name": group["name"],
            "rules": [
                _ordered(
                    rule
                    | (
                        {"annotations": _ordered(rule["annotations"], ANNOTATION_ORDER)}
                        if "annotations" in rule
                        else {}
                    ),
                    RULE_KEY_ORDER,
                )
                for rule in group["rules"]
            ],
        }
        for group in document["groups"]
    ]
    # No folding: an expression stays on the lines it was written on.
    body = yaml.dump(
        {"groups": groups}, Dumper=PROMETHEUSRULE.LiteralDumper, sort_keys=False, width=1_000_000
    )
    return HEADER + body


def dashboard_file(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def rendered(
    mixin: Path = MIXIN, root: Path = ROOT, scenarios: Path | None = SCENARIO_DIR
) -> dict[Path, str]:
    """Every generated file under `root` and its content; the promtool tests of the scenarios
    in `scenarios`, if given."""
    output = evaluate(mixin)
    rules = {
        RECORDING.relative_to(ROOT): rule_file(output["rules"]),
        ALERTS.relative_to(ROOT): rule_file(output["alerts"]),
    }
    files = {root / relative: text for relative, text in rules.items()}
    for name, dashboard in sorted(output["dashboards"].items()):
        files[root / DASHBOARD_DIR.relative_to(ROOT) / name] = dashboard_file(dashboard)
    # The groups as Prometheus loads them from the files, in the files' order.
    groups = [
        group
        for relative in sorted(rules, key=lambda path: path.name)
        for group in yaml.safe_load(rules[relative])["groups"]
    ]
    files[root / PROMETHEUSRULE.OUTPUT.relative_to(ROOT)] = PROMETHEUSRULE.manifest(groups)
    tests = root / TESTS_DIR.relative_to(ROOT)
    ordered = output["rules"]["groups"] + output["alerts"]["groups"]
    for source in sorted(scenarios.glob("*.yml")) if scenarios else []:
        text = source.read_text(encoding="utf-8")
        files[tests / source.name] = SCENARIOS.render(source.name, text, ordered)
    return files


def _leftovers(files: dict[Path, str], root: Path) -> list[Path]:
    """Dashboards the mixin no longer has, tests whose scenario source is gone (when tests were
    rendered at all)."""
    dashboards = sorted((root / DASHBOARD_DIR.relative_to(ROOT)).glob("*.json"))
    tests_dir = root / TESTS_DIR.relative_to(ROOT)
    with_tests = any(path.parent == tests_dir for path in files)
    tests = sorted(tests_dir.glob("*.yml")) if with_tests else []
    return [path for path in dashboards + tests if path not in files]


def stale_files(files: dict[Path, str], root: Path = ROOT) -> list[Path]:
    """Generated files whose committed content differs, and leftovers."""
    stale = [path for path, text in files.items() if _read(path) != text]
    return stale + _leftovers(files, root)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def write(files: dict[Path, str], root: Path) -> None:
    for path in _leftovers(files, root):
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed files")
    parser.add_argument(
        "--mixin",
        type=Path,
        default=MIXIN,
        help="a jsonnet file that imports and extends the mixin",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT, help="write under this directory (same layout)"
    )
    parser.add_argument(
        "--scenarios",
        type=Path,
        help="render the promtool scenarios of this directory (default: deploy/mixin/tests with "
        "the shipped mixin; none with --mixin, as they expect the default _config)",
    )
    args = parser.parse_args(argv)
    mixin = args.mixin.resolve()
    scenarios = args.scenarios or (SCENARIO_DIR if mixin == MIXIN else None)
    try:
        files = rendered(mixin, args.out.resolve(), scenarios)
    except RuntimeError as exc:  # _jsonnet reports errors as RuntimeError
        print(f"{args.mixin}: {str(exc).strip()}", file=sys.stderr)
        return 2
    except SCENARIOS.ScenarioError as exc:
        print(f"{scenarios}/{exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_files(files, args.out.resolve())
        for path in stale:
            print(f"{path} is out of date: run make mixin", file=sys.stderr)
        return 1 if stale else 0
    write(files, args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
