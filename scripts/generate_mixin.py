#!/usr/bin/env python3
"""Render the monitoring mixin (deploy/mixin) into the files the repository ships.

deploy/mixin/*.libsonnet is the one source of the Prometheus rules and the Grafana dashboards;
this writes the rule files Prometheus loads (deploy/prometheus/rules/), the Prometheus Operator's
PrometheusRule (deploy/kubernetes/base/prometheusrule.yaml, through
scripts/generate_prometheusrule.py) and the dashboards Grafana provisions (grafana/dashboards/).
tests/test_mixin.py fails while a committed file differs from what this renders.

    python scripts/generate_mixin.py          # rewrite the generated files (`make mixin`)
    python scripts/generate_mixin.py --check  # exit 1 if one is out of date
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
    text = _jsonnet.evaluate_snippet(str(mixin), snippet, jpathdir=[str(mixin.parent)])
    result: dict[str, Any] = json.loads(text)
    return result


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, descriptions) as literal blocks, as a person writes them."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


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
    return HEADER + yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=100)


def dashboard_file(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def _prometheusrule_renderer() -> Any:
    """scripts/generate_prometheusrule.py's render(), which wraps the rule files."""
    path = ROOT / "scripts" / "generate_prometheusrule.py"
    spec = importlib.util.spec_from_file_location("generate_prometheusrule", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered() -> dict[Path, str]:
    """Every generated file and its content; the PrometheusRule comes last (it reads the rules)."""
    mixin = evaluate()
    files = {RECORDING: rule_file(mixin["rules"]), ALERTS: rule_file(mixin["alerts"])}
    for name, dashboard in sorted(mixin["dashboards"].items()):
        files[DASHBOARD_DIR / name] = dashboard_file(dashboard)
    return files


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Generated files whose committed content differs, and dashboards the mixin no longer has."""
    stale = [path for path, text in files.items() if _read(path) != text]
    stale += [p for p in sorted(DASHBOARD_DIR.glob("*.json")) if p not in files]
    return stale


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed files")
    args = parser.parse_args(argv)
    files = rendered()
    prometheusrule = _prometheusrule_renderer()
    if args.check:
        stale = stale_files(files)
        if prometheusrule.main(["--check"]) != 0:
            stale.append(prometheusrule.OUTPUT)
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run make mixin", file=sys.stderr)
        return 1 if stale else 0
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return prometheusrule.main([])


if __name__ == "__main__":
    sys.exit(main())
