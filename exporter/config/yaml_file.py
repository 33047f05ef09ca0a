"""Reading the exporter's two YAML files (config and web config) with one-line errors.

Both files are read strictly: aliases and anchors are refused (a few hundred bytes of nested
aliases expand to gigabytes), duplicate keys are refused, nesting and size are bounded, and every
mapping and list remembers the line of each key and item so that errors can say where. No error
quotes the file's content: a YAML problem is described in words with its line and column, since
the text around it may be a secret.

The words are this module's own. PyYAML's messages are English prose that may change with any
release (and quote the file), so they are never read: a problem is described from what PyYAML
gives as data (the class of the error and the positions it marks) and from the file's own text at
those positions (which construct was being read, which token was found, where the file ends).
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
# Where a key's own name ends and, in a mistyped `key:value` or `key=value`, a value begins.
_KEY_SEPARATOR = re.compile(r"[:=\s]")


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


# --- the words: every problem the reader reports, in one place ---------------------------------

_ALIASES = "aliases (*name) are not allowed"
_ANCHORS = "anchors (&name) are not allowed"
_TAGS = "tags (!name) are not allowed"
_SECOND_DOCUMENT = "a second document (---): the file must hold one"
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
_COMPLEX_KEY = "a key must be a plain value, not a list or mapping"
_BAD_DATE = "not a valid date (quote it if it is not meant as one)"
_BAD_NUMBER = "not a valid number (quote it if it is not meant as one)"
_BAD_MERGE = "a merge key (<<) must be followed by a mapping or a list of mappings"
_RESERVED_VALUE = "a value YAML reserves (such as << or =): quote it if it is meant as text"
_UNREADABLE = "a control character YAML does not allow (write it as an escape if it is meant)"
_TAB = "a tab character (indent with spaces)"
_UNEXPECTED_VALUE = (
    "unexpected 'key: value' (check the indentation, or quote a value that contains ': ')"
)
_MISSING_COLON = (
    "expected 'key: value' on this line or the one above (a missing colon, or an indentation)"
)
_RESERVED_START = "a value cannot start with %, @ or ` (quote it)"
_RESERVED_IN_FLOW = "a value inside [ ] or { } cannot start with | or > (quote it)"
_MISPLACED_ENTRY = (
    "a list item ('- ') cannot start here (put it on a line of its own, or quote the value)"
)
_MISPLACED_KEY = "a complex key ('? ') cannot start here (quote the value)"
_MISALIGNED = "this line's indentation does not match the lines above it"
_UNCLOSED_QUOTE = "the file ends inside a quoted string"
_UNCLOSED_BRACKET = "the file ends inside a [ or {"
_MARKER_IN_QUOTES = "a line starting with --- or ... inside a quoted string"
_BAD_ESCAPE = (
    "an invalid escape in a double-quoted string (write \\\\ for a backslash, or use '...')"
)
_BAD_BLOCK_HEADER = "only 1-9, + or - may follow | or > on its line (the text goes below)"
_BAD_DIRECTIVE = "an invalid directive (a line starting with %)"
_NO_DOCUMENT_START = "expected --- before this (after a % line or ..., a document starts with ---)"
_INVALID_SYNTAX = "invalid YAML syntax"
_INVALID_STRUCTURE = "invalid YAML structure"
_INVALID = "invalid YAML"


def _in_flow(found: str, closing: bool) -> str:
    if closing:
        hint = "each [ closes with ] and each { with }"
    else:
        hint = "a missing ',' between items, or a value to quote"
    return f"unexpected {found} inside [ ] or {{ }} ({hint})"


def _outside_flow(found: str) -> str:
    return f"unexpected {found} outside [ ] or {{ }} (quote the value it belongs to)"


class _Refused(yaml.MarkedYAMLError):
    """Something the exporter's files must not contain, described in this module's words."""

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
            raise _Refused(_ALIASES, event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _Refused(_ANCHORS, event.start_mark)
        if getattr(event, "tag", None) is not None:
            raise _Refused(_TAGS, event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise _Refused(_TOO_DEEP, event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def single_document(self) -> Any:
        """The stream's one document (None when empty); a second one is refused in our words."""
        self.get_event()  # the stream start
        node = None if self.check_event(yaml.StreamEndEvent) else self.compose_document()
        if not self.check_event(yaml.StreamEndEvent):
            raise _Refused(_SECOND_DOCUMENT, self.peek_event().start_mark)
        return None if node is None else self.construct_document(node)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> YamlMapping:
    try:
        loader.flatten_mapping(node)
    except yaml.constructor.ConstructorError as problem:
        raise _Refused(_BAD_MERGE, problem.problem_mark or node.start_mark) from None
    mapping = YamlMapping(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            duplicate = key in mapping
        except TypeError:
            raise _Refused(_COMPLEX_KEY, key_node.start_mark) from None
        if duplicate:
            place = f"{loader.where()}: " if loader.path else ""
            raise _Refused(
                f"{place}duplicate key {shown_key(key)!r} (first at line {mapping.line_of(key)})",
                key_node.start_mark,
            )
        loader.path.append(f".{shown_key(key)}")
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


def _construct_reserved(loader: _StrictLoader, node: yaml.Node) -> Any:
    """A plain value that YAML resolves to a kind with no meaning as data (<<, =)."""
    raise _Refused(_RESERVED_VALUE, node.start_mark)


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A date as YAML reads one, or a one-line error for an impossible one (2022-13-45)."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        raise _Refused(_BAD_DATE, node.start_mark) from None


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """An integer as YAML reads one, or a one-line error for one with no digits (0x_)."""
    try:
        return loader.construct_yaml_int(node)
    except ValueError:
        raise _Refused(_BAD_NUMBER, node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _construct_list)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
# Explicit tags are refused before construction, so only an implicit one can have no constructor.
_StrictLoader.add_constructor(None, _construct_reserved)


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """The YAML document; `error` says what is wrong and where (line, column), in one line."""
    try:
        # A SafeLoader subclass: plain data only, no arbitrary Python objects. Constructed inside
        # the try: PyYAML checks a text for characters YAML does not allow as it takes it.
        loader = _StrictLoader(text)
        try:
            return loader.single_document()
        finally:
            loader.dispose()
    except _Refused as problem:
        raise error(_located(source, problem.problem_mark, str(problem.problem))) from None
    except yaml.MarkedYAMLError as problem:
        mark, words = _describe(problem, text)
        raise error(_located(source, mark, words)) from None
    except yaml.reader.ReaderError as problem:
        raise error(_located(source, _mark_at(text, problem.position), _UNREADABLE)) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        # A value no constructor above guards; the exception's text may quote the file.
        raise error(f"{source}: {_INVALID}") from None


# --- describing PyYAML's errors from their class and marks, never from their text --------------


def _describe(problem: yaml.MarkedYAMLError, text: str) -> tuple[Any, str]:
    """Where the problem is, and what it is in this module's words."""
    at, context = problem.problem_mark, problem.context_mark
    if at is None:
        return context, _INVALID
    if isinstance(problem, yaml.scanner.ScannerError):
        return _describe_scanning(text, at, context)
    if isinstance(problem, yaml.parser.ParserError):
        return at, _describe_parsing(text, at.index, in_document=context is not None)
    return at, _INVALID


def _describe_scanning(text: str, at: Any, context: Any) -> tuple[Any, str]:
    """A token that could not be read. PyYAML marks where it stopped and, when it was inside a
    construct, where that started: the construct's first character says which one it was."""
    found = _char(text, at.index)
    if context is None:  # between tokens: the character found cannot start one here
        if found == "\t":
            return at, _TAB
        if found == ":":
            return at, _UNEXPECTED_VALUE
        by_found = {
            "%": _RESERVED_START,
            "@": _RESERVED_START,
            "`": _RESERVED_START,
            "|": _RESERVED_IN_FLOW,
            ">": _RESERVED_IN_FLOW,
            "-": _MISPLACED_ENTRY,
            "?": _MISPLACED_KEY,
        }
        if found in by_found:
            return at, by_found[found]
        return at, _INVALID_SYNTAX
    started = _char(text, context.index)
    if started in ("'", '"') and not _closed_before(text, context.index, at.index):
        if at.index >= len(text):
            return at, _UNCLOSED_QUOTE
        if at.column == 0:  # only a document marker stops a quoted string at a line's start
            return at, _MARKER_IN_QUOTES
        return at, _BAD_ESCAPE
    # The rest point at where the construct starts: that is where the mistake is.
    by_start = {"&": _ANCHORS, "*": _ALIASES, "!": _TAGS, "%": _BAD_DIRECTIVE}
    if started in by_start:
        return context, by_start[started]
    if started in ("|", ">"):
        return at, _BAD_BLOCK_HEADER
    # A key that was never followed by its colon (a key is the only construct that can start
    # with anything else and fail where it ends).
    return at, _MISSING_COLON


def _describe_parsing(text: str, index: int, in_document: bool) -> str:
    """Tokens in an order YAML does not allow: the token found, and whether it is inside brackets
    or between documents (where PyYAML marks no construct as the context), say what is wrong."""
    token, depth = _token_at(text, index)
    if token is None:
        return _INVALID_STRUCTURE
    if type(token) in _REFUSED_TOKENS:  # whatever else is wrong there, these are refused anyway
        return _REFUSED_TOKENS[type(token)]
    if not in_document:
        return _BAD_DIRECTIVE if isinstance(token, yaml.DirectiveToken) else _NO_DOCUMENT_START
    if isinstance(token, yaml.StreamEndToken):
        return _UNCLOSED_BRACKET if depth else _INVALID_STRUCTURE
    found = _TOKEN_NAMES.get(type(token), "value")
    closing = isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken))
    if depth:
        return _in_flow(found, closing)
    if closing or isinstance(token, yaml.FlowEntryToken):
        return _outside_flow(found)
    if isinstance(token, _BLOCK_TOKENS):
        return _MISALIGNED
    if isinstance(token, (yaml.DocumentStartToken, yaml.DocumentEndToken)):
        return f"unexpected {found} (a document marker where a value was expected)"
    return _INVALID_STRUCTURE


_REFUSED_TOKENS: dict[type[yaml.Token], str] = {
    yaml.AnchorToken: _ANCHORS,
    yaml.AliasToken: _ALIASES,
    yaml.TagToken: _TAGS,
}
_TOKEN_NAMES: dict[type[yaml.Token], str] = {
    yaml.FlowEntryToken: "','",
    yaml.ValueToken: "':'",
    yaml.BlockEntryToken: "'-'",
    yaml.FlowSequenceStartToken: "'['",
    yaml.FlowSequenceEndToken: "']'",
    yaml.FlowMappingStartToken: "'{'",
    yaml.FlowMappingEndToken: "'}'",
    yaml.KeyToken: "key",
    yaml.BlockMappingStartToken: "key",
    yaml.BlockSequenceStartToken: "'-'",
    yaml.DocumentStartToken: "'---'",
    yaml.DocumentEndToken: "'...'",
}
# What starts a line of a block (indented) collection: found where it cannot be, the line is
# indented differently from the lines it belongs with.
_BLOCK_TOKENS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockEntryToken,
    yaml.KeyToken,
    yaml.ValueToken,
    yaml.ScalarToken,
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
)


_PASSED_OVER = (yaml.StreamStartToken, yaml.BlockEndToken)


def _token_at(text: str, index: int) -> tuple[yaml.Token | None, int]:
    """The token found at `index` (PyYAML's documented token stream, read again up to there)
    and how many [ and { are open around it. The stream's start and the ends of indented blocks
    are passed over: they are what the parser accepted before it found what it did not expect."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= index and not isinstance(token, _PASSED_OVER):
                return token, depth
            if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
                depth += 1
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
                depth = max(depth - 1, 0)
    except yaml.YAMLError:
        pass
    return None, depth


def _closed_before(text: str, start: int, end: int) -> bool:
    """Whether the quoted string opening at `start` closes before `end`."""
    quote = text[start]
    index = start + 1
    while index < end:
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
        elif char == quote and quote == "'" and _char(text, index + 1) == "'":
            index += 2  # '' is a quote inside '...'
        elif char == quote:
            return True
        else:
            index += 1
    return False


def _char(text: str, index: int) -> str:
    return text[index : index + 1]


def _mark_at(text: str, position: int) -> yaml.Mark:
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return yaml.Mark("", position, line, column, "", 0)


def _located(source: str, mark: Any, problem: str) -> str:
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{source}: {where}{problem}"


def shown_key(key: Any) -> str:
    """A key as an error message may show it: up to a `:`, `=` or blank inside it, then "…".
    In flow style `{api_key:VALUE}` (no space after the colon) is one key holding the secret;
    whatever follows such a separator may be a value, and is never echoed."""
    text = str(key)
    cut = _KEY_SEPARATOR.search(text)
    return text if cut is None else text[: cut.start()] + " …"


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
