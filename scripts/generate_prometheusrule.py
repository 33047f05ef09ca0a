#!/usr/bin/env python3
"""Check deploy/kubernetes/base/prometheusrule.yaml against the rules in deploy/prometheus/rules/.

The rule files are rendered from the monitoring mixin (deploy/mixin) by scripts/generate_mixin.py,
which calls manifest() here: Prometheus loads the files as they are (compose demo, `rule_files:`),
and the Prometheus Operator gets the same groups wrapped in a PrometheusRule. Run `make mixin`
after changing the mixin; tests/test_deploy.py and tests/test_mixin.py fail while they differ.

    python scripts/generate_prometheusrule.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
OUTPUT = ROOT / "deploy" / "kubernetes" / "base" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/mixin by `make mixin` (scripts/generate_mixin.py, through
# scripts/generate_prometheusrule.py). Do not edit: change the mixin and regenerate.
"""


def rule_files(rules_dir: Path = RULES_DIR) -> list[Path]:
    """The rule files, in a stable order; an empty directory is an error, not an empty rule."""
    files = sorted(rules_dir.glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no rule files (*.yml) in {rules_dir}")
    return files


def load_groups(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """Every rule group of every rule file, in file order then group order."""
    groups: list[dict[str, Any]] = []
    for path in rule_files(rules_dir):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
            raise ValueError(f"{path}: expected a Prometheus rule file with a `groups:` list")
        groups.extend(document["groups"])
    return groups


class LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL expressions, descriptions) as literal blocks, as written."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


LiteralDumper.add_representer(str, _represent_str)


def manifest(groups: list[dict[str, Any]]) -> str:
    """The PrometheusRule of these rule groups, as text."""
    names = [group["name"] for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"rule group names must be unique across the rule files: {duplicates}")
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "trunk-capacity-exporter"},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(document, Dumper=LiteralDumper, sort_keys=False, width=1_000_000)


def render(rules_dir: Path = RULES_DIR) -> str:
    """The PrometheusRule of the rule files in `rules_dir`, as text."""
    return manifest(load_groups(rules_dir))


def main(argv: list[str] | None = None) -> int:
    """Only checks: `make mixin` is the one writer of the PrometheusRule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="check that the committed file is up to date"
    )
    parser.parse_args(argv)
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    if current != render():
        print(f"{OUTPUT.relative_to(ROOT)} is out of date: run make mixin", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
