"""Reading the exporter's two YAML files (config and web config) with one-line errors.

Both files are read strictly: aliases and anchors are refused (a few hundred bytes of nested
aliases expand to gigabytes), duplicate keys are refused, nesting and size are bounded, and every
mapping and list remembers the line of each key and item so that errors can say where. No error
quotes the file's content: a YAML problem is described in words with its line and column, since
the text around it may be a secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# Generous for a config (10,000 service providers fit in well under 1 MiB), small enough that
# pointing --config.file at /dev/zero or a log file fails at once instead of eating memory.
MAX_FILE_BYTES = 4 * 1024 * 1024
# A config is four levels deep; anything near this is a mistake or an attack on the parser.
MAX_DEPTH = 32


class YamlMapping(dict[Any, Any]):
    """A YAML mapping that knows its own line and the line of each of its keys (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """The line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class YamlList(list[Any]):
    """A YAML sequence that knows its own line and the line of each item (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def line_of(value: Any, key: Any = None) -> int | None:
    """The line of `key` in a mapping, of item `key` in a list, or of the value itself."""
    if isinstance(value, YamlMapping):
        return value.line if key is None else value.line_of(key)
    if isinstance(value, YamlList):
        if isinstance(key, int) and 0 <= key < len(value.item_lines):
            return value.item_lines[key]
        return value.line
    return None


def read_text(path: str | Path, what: str, error: type[Exception]) -> str:
    """The file's text; `error` names `what` and `path` when it cannot be read as UTF-8."""
    try:
        data = _read_at_most(Path(path), MAX_FILE_BYTES)
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror}") from None
    if data is None:
        raise error(f"{what} {path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


def _read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None past `limit` (read in chunks: no buffer of `limit` up front)."""
    chunks: list[bytes] = []
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


class _Refused(yaml.MarkedYAMLError):
    """Something valid YAML that the exporter's files must not contain."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, anchors or duplicate keys, building YamlMapping/YamlList."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        # Where construction is, as keys and [indices], to name the place of a duplicate key.
        self.path: list[str] = []

    def where(self) -> str:
        return "".join(self.path).lstrip(".")

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused("aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _Refused("anchors (&name) are not allowed", event.start_mark)
        if getattr(event, "tag", None) is not None:
            raise _Refused("tags (!name) are not allowed", event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> YamlMapping:
    loader.flatten_mapping(node)
    mapping = YamlMapping(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            duplicate = key in mapping
        except TypeError:
            raise _Refused(
                "a key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if duplicate:
            place = f"{loader.where()}: " if loader.path else ""
            raise _Refused(
                f"{place}duplicate key {key!r} (first at line {mapping.line_of(key)})",
                key_node.start_mark,
            )
        loader.path.append(f".{key}")
        mapping[key] = loader.construct_object(value_node, deep=True)
        loader.path.pop()
        mapping.key_lines[key] = line
    return mapping


def _construct_list(loader: _StrictLoader, node: yaml.SequenceNode) -> YamlList:
    items = YamlList(node.start_mark.line + 1)
    for index, item_node in enumerate(node.value):
        loader.path.append(f"[{index}]")
        items.append(loader.construct_object(item_node, deep=True))
        loader.path.pop()
        items.item_lines.append(item_node.start_mark.line + 1)
    return items


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A date as YAML reads one, or a one-line error for an impossible one (2022-13-45)."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        raise _Refused(
            "not a valid date (quote it if it is not meant as one)", node.start_mark
        ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _construct_list)

_MISALIGNED = "this line's indentation does not match the lines above it"
# PyYAML's wording of frequent mistakes, reworded for someone editing a config by hand.
_PROBLEMS = {
    "mapping values are not allowed here": (
        "unexpected 'key: value' (check the indentation, or quote a value that contains ': ')"
    ),
    "could not find expected ':'": (
        "expected 'key: value' on this line or the one above (a missing colon, or an indentation)"
    ),
    "expected <block end>, but found '<block mapping start>'": _MISALIGNED,
    "expected <block end>, but found '<block sequence start>'": _MISALIGNED,
    "expected <block end>, but found '-'": _MISALIGNED,
    "expected <block end>, but found '?'": _MISALIGNED,
    "expected <block end>, but found '<scalar>'": _MISALIGNED,
    "found character '\\t' that cannot start any token": "a tab character (indent with spaces)",
    "found undefined alias": "aliases (*name) are not allowed",
    "expected the node content, but found '<stream end>'": "the file ends inside a [ or {",
    "found unexpected end of stream": "the file ends inside a quoted string",
    "but found another document": "a second document (---): the file must hold one",
    "could not determine a constructor for the tag": "tags (!name) are not allowed",
}
# Anything PyYAML quotes from the file, except its own token names such as '<block end>'.
_QUOTED = re.compile(r"\s*(?:'(?!<)(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def _describe_problem(problem: str | None) -> str:
    """PyYAML's problem in words that never quote the file (the text may be a secret)."""
    if not problem:
        return "invalid YAML"
    if problem in _PROBLEMS:
        return _PROBLEMS[problem]
    unquoted = _QUOTED.sub("", problem).strip()
    return _PROBLEMS.get(unquoted, unquoted or "invalid YAML")


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """The YAML document; `error` says what is wrong and where (line, column), in one line."""
    try:
        # A SafeLoader subclass: plain data only, no arbitrary Python objects.
        return yaml.load(text, Loader=_StrictLoader)
    except _Refused as problem:
        raise error(_located(source, problem.problem_mark, str(problem.problem))) from None
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        raise error(_located(source, mark, _describe_problem(problem.problem))) from None
    except yaml.reader.ReaderError as problem:
        raise error(_located(source, _mark_at(text, problem.position), _UNREADABLE)) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        # A value no constructor above guards; the exception's text may quote the file.
        raise error(f"{source}: invalid YAML") from None


_UNREADABLE = "a control character YAML does not allow (write it as an escape if it is meant)"


def _mark_at(text: str, position: int) -> yaml.Mark:
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return yaml.Mark("", position, line, column, "", 0)


def _located(source: str, mark: Any, problem: str) -> str:
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{source}: {where}{problem}"


def describe_kind(value: Any) -> str:
    """How a YAML value reads in an error message: "a mapping", "an integer", "nothing"."""
    if value is None:
        return "nothing"
    for kind, words in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, kind):
            return words
    return "a date" if hasattr(value, "isoformat") else "a value of another kind"
