"""Reading the exporter's two YAML files (config and web config) with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_text(path: str | Path, what: str, error: type[Exception]) -> str:
    """The file's text; `error` names `what` and `path` when it cannot be read as UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """The YAML document; `error` says what is wrong and where (line, column)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(problem, "problem", None) or "invalid YAML"
        raise error(f"{source}: {reason}{where}") from None


def describe_kind(value: Any) -> str:
    """How a YAML value reads in an error message: "a mapping", "an integer", "nothing"."""
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
