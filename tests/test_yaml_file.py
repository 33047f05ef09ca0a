"""The strict YAML reader shared by the config and the web config: no aliases or anchors, no
duplicate keys, bounded size and depth, and errors that never quote the file."""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config.section import ConfigError
from exporter.config.yaml_file import MAX_DEPTH, MAX_FILE_BYTES, YamlList, YamlMapping, parse_yaml
from exporter.registry import load_config, parse_config
from exporter.serving.web_config import WebConfigError, load_web_config
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent

# The classic "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


class Problem(Exception):
    pass


BAD_ESCAPE = (
    "an invalid escape in a double-quoted string (write \\\\ for a backslash, or use '...')"
)
MISSING_COLON = (
    "expected 'key: value' on this line or the one above (a missing colon, or an indentation)"
)
IN_BRACKETS = "inside [ ] or { } (a missing ',' between items, or a value to quote)"
NO_DOCUMENT_START = "expected --- before this (after a % line or ..., a document starts with ---)"

RESERVED = "a value YAML reserves (such as << or =): quote it if it is meant as text"
MISMATCHED = "inside [ ] or { } (each [ closes with ] and each { with })"


def test_the_bomb_is_the_size_the_issue_measured() -> None:
    assert 400 <= len(ALIAS_BOMB.encode()) <= 450


@pytest.mark.parametrize(
    ("read", "error"),
    [(load_config, ConfigError), (load_web_config, WebConfigError)],
    ids=["config", "web config"],
)
def test_an_alias_bomb_is_refused_in_well_under_a_second_and_a_megabyte(
    tmp_path: Path, read: object, error: type[Exception]
) -> None:
    path = tmp_path / "bomb.yml"
    path.write_text(ALIAS_BOMB)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error) as caught:
            read(path)  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value) == f"{path}: line 1, column 4: anchors (&name) are not allowed"
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert peak < 1024 * 1024, f"peak {peak / 1024:.0f} KiB"


# The command line, then the peak resident memory of this process image. VmHWM, not ru_maxrss:
# Linux carries ru_maxrss over from the forked test runner, VmHWM starts afresh at exec.
CHECK_THEN_PEAK = """
import sys
from exporter.cli import main
code = main(sys.argv[1:])
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(int(peak.split()[1]) // 1024)
sys.exit(code)
"""


def test_config_check_refuses_the_bomb_at_once_with_little_memory(
    tmp_path: Path, processes: Processes
) -> None:
    """The issue's reproduction: `--config.check` on the bomb ran past 30 s and 620 MB."""
    path = tmp_path / "bomb.yml"
    path.write_text(ALIAS_BOMB)
    started = time.perf_counter()
    result = processes.run(
        [sys.executable, "-c", CHECK_THEN_PEAK, "--config.check", "--config.file", str(path)],
        cwd=ROOT,
        timeout=30,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"config error: {path}: line 1, column 4: anchors (&name) are not allowed"
    ]
    peak_mib = int(result.stdout)
    assert elapsed < 10, f"--config.check took {elapsed:.1f}s"
    assert peak_mib < 100, f"--config.check peaked at {peak_mib} MiB"


REFUSED = [
    ("a: &x 1\n", "line 1, column 4: anchors (&name) are not allowed"),
    ("a: 1\nb: *x\n", "line 2, column 4: aliases (*name) are not allowed"),
    (
        "defaults: {timeout: 5s}\nentry:\n  <<: *defaults\n",
        "line 3, column 7: aliases (*name) are not allowed",
    ),
    ("a: 1\nb: 2\na: 3\n", "line 3, column 1: duplicate key 'a' (first at line 1)"),
    (
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  cert_file: c\n",
        "line 4, column 3: tls_server_config: duplicate key 'cert_file' (first at line 2)",
    ),
    (
        "odin:\n  - name: a\n  - name: b\n    name: c\n",
        "line 4, column 5: odin[1]: duplicate key 'name' (first at line 3)",
    ),
    ("? [a]\n: 1\n", "line 1, column 3: a key must be a plain value, not a list or mapping"),
    ("a: !!python/object:os.system x\n", "line 1, column 4: tags (!name) are not allowed"),
    ("a: !!int secret\n", "line 1, column 4: tags (!name) are not allowed"),
    (
        "a: 2022-13-45\n",
        "line 1, column 4: not a valid date (quote it if it is not meant as one)",
    ),
    ("a: 1\n---\nb: 2\n", "line 2, column 1: a second document (---): the file must hold one"),
    (
        "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
        f"line 1, column {MAX_DEPTH + 3}: nested more than {MAX_DEPTH} levels deep",
    ),
    (
        "a: 'secret\x01value'\n",
        "line 1, column 11: a control character YAML does not allow "
        "(write it as an escape if it is meant)",
    ),
    ('a: "secret\\qvalue"\n', f"line 1, column 12: {BAD_ESCAPE}"),
    ("a: 'secret-value\n", "line 2, column 1: the file ends inside a quoted string"),
    ("a: %secret\n", "line 1, column 4: a value cannot start with %, @ or ` (quote it)"),
]


@pytest.mark.parametrize(("text", "problem"), REFUSED)
def test_what_the_reader_refuses_is_one_line_that_never_quotes_the_file(
    text: str, problem: str
) -> None:
    with pytest.raises(Problem) as caught:
        parse_yaml(text, "f.yml", Problem)
    assert str(caught.value) == f"f.yml: {problem}"
    assert "secret" not in str(caught.value)


# Each way PyYAML can fail, described from the error's class, its marks and the file's own text
# at them (which construct started there, which token was found, whether brackets are open).
MISTAKES = [
    # Scanning: the construct that was being read is named by its first character.
    ('a: "secret\\xZZ"\n', f"line 1, column 13: {BAD_ESCAPE}"),
    (
        "a: 'secret\n---\n'\n",
        "line 2, column 1: a line starting with --- or ... inside a quoted string",
    ),
    ("a: 'it''s'\nsecret\n", f"line 3, column 1: {MISSING_COLON}"),  # the quotes close: a key
    ("a: 1\n'secret'\n", f"line 3, column 1: {MISSING_COLON}"),
    ("odin:\n  - name: a\n    url secret\n    timeout: 5s\n", f"line 4, column 5: {MISSING_COLON}"),
    ("a: @secret\n", "line 1, column 4: a value cannot start with %, @ or ` (quote it)"),
    ("a:\n\tb: secret\n", "line 2, column 1: a tab character (indent with spaces)"),
    (
        "- secret\n- b\n c: d\n",
        "line 3, column 3: unexpected 'key: value' "
        "(check the indentation, or quote a value that contains ': ')",
    ),
    (
        "a: |secret\n",
        "line 1, column 5: only 1-9, + or - may follow | or > on its line (the text goes below)",
    ),
    ("%YAML secret\n---\n", "line 1, column 1: an invalid directive (a line starting with %)"),
    (
        "a: [secret, |x]\n",
        "line 1, column 13: a value inside [ ] or { } cannot start with | or > (quote it)",
    ),
    (
        "a: - secret\n",
        "line 1, column 4: a list item ('- ') cannot start here "
        "(put it on a line of its own, or quote the value)",
    ),
    (
        "a: [b] ? secret\n",
        "line 1, column 8: a complex key ('? ') cannot start here (quote the value)",
    ),
    ("a: &\n", "line 1, column 4: anchors (&name) are not allowed"),
    ("a: *\n", "line 1, column 4: aliases (*name) are not allowed"),
    # Parsing: the token found there, and whether it is inside brackets.
    ("a: [secret, , b]\n", f"line 1, column 13: unexpected ',' {IN_BRACKETS}"),
    ("a: {b: secret c: d}\n", f"line 1, column 16: unexpected ':' {IN_BRACKETS}"),
    (
        "a: [secret}\n",
        f"line 1, column 11: unexpected '}}' {MISMATCHED}",
    ),
    (
        "a: [b], secret\n",
        "line 1, column 7: unexpected ',' outside [ ] or { } (quote the value it belongs to)",
    ),
    (
        "a: secret\n]\n",
        "line 2, column 1: unexpected ']' outside [ ] or { } (quote the value it belongs to)",
    ),
    ("a: [secret\n", "line 2, column 1: the file ends inside a [ or {"),
    (
        "a:\n  b: secret\n c: 2\n",
        "line 3, column 2: this line's indentation does not match the lines above it",
    ),
    (
        "- secret\nb: c\n",
        "line 2, column 1: this line's indentation does not match the lines above it",
    ),
    ("a: !x!y secret\n", "line 1, column 4: tags (!name) are not allowed"),
    ("%YAML 1.1\nsecret: 1\n", f"line 2, column 1: {NO_DOCUMENT_START}"),
    ("a: 1\n...\nsecret\n", f"line 3, column 1: {NO_DOCUMENT_START}"),
    (
        "...\nsecret: 1\n",
        "line 1, column 1: unexpected '...' (a document marker where a value was expected)",
    ),
    (
        "%YAML 1.1\n%YAML 1.1\n---\n",
        "line 2, column 1: an invalid directive (a line starting with %)",
    ),
    # Constructing: values YAML reads as something they cannot be.
    ("a: 0x_\n", "line 1, column 4: not a valid number (quote it if it is not meant as one)"),
    ("a: <<\n", f"line 1, column 4: {RESERVED}"),
    ("a: =\n", f"line 1, column 4: {RESERVED}"),
    (
        "<<: secret\n",
        "line 1, column 5: a merge key (<<) must be followed by a mapping or a list of mappings",
    ),
]


@pytest.mark.parametrize(("text", "problem"), MISTAKES)
def test_each_kind_of_mistake_is_named_in_the_readers_own_words(text: str, problem: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_yaml(text, "f.yml", Problem)
    assert str(caught.value) == f"f.yml: {problem}"
    assert "secret" not in str(caught.value)


def test_a_merge_of_a_mapping_still_reads() -> None:
    parsed = parse_yaml("a:\n  <<: {b: 1}\n  c: 2\n", "f", Problem)
    assert parsed == {"a": {"b": 1, "c": 2}}


@pytest.mark.parametrize(("text", "problem"), REFUSED + MISTAKES)
def test_the_words_do_not_depend_on_pyyamls_wording(
    monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    """A PyYAML release that rewords (or stops writing) every message changes no error here:
    only the class of PyYAML's error and its marks are read, never its text."""
    original = yaml.MarkedYAMLError.__init__

    def reworded(self: yaml.MarkedYAMLError, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        if type(self).__module__.startswith("yaml."):
            self.context = "reworded" if self.context is not None else None
            self.problem = "reworded" if self.problem is not None else None
            self.note = None

    monkeypatch.setattr(yaml.MarkedYAMLError, "__init__", reworded)
    with pytest.raises(Problem) as caught:
        parse_yaml(text, "f.yml", Problem)
    assert str(caught.value) == f"f.yml: {problem}"


def test_a_web_config_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  alice: x\n  alice: y\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert str(caught.value) == (
        f"{path}: line 3, column 3: basic_auth_users: duplicate key 'alice' (first at line 2)"
    )


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ConfigError, match=r"config file .* is larger than 4 MiB"):
        load_config(path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ConfigError, match="larger than"):
            load_config("/dev/zero")


def test_mappings_and_lists_remember_their_lines() -> None:
    document = parse_yaml("# comment\nodin:\n  - name: a\n\n    url: b\n  - x\n", "f", Problem)
    assert isinstance(document, YamlMapping)
    assert document.line_of("odin") == 2
    entries = document["odin"]
    assert isinstance(entries, YamlList)
    assert entries.item_lines == [3, 6]
    assert entries[0].line_of("url") == 5
    assert entries[0].line_of("absent") == 3


def test_a_plain_document_still_reads_as_plain_data() -> None:
    """The web config and the config compare against dicts and lists: nothing else changed."""
    text = "a: [1, 2.5, 'x', true, null, 2022-05-10]\nb: {c: d}\n"
    parsed = parse_yaml(text, "f", Problem)
    assert parsed == {"a": [1, 2.5, "x", True, None, parsed["a"][5]], "b": {"c": "d"}}
    assert parsed["a"][5].isoformat() == "2022-05-10"


# Pieces of YAML (and of dates and control characters) put together at random.
YAMLISH = st.lists(
    st.sampled_from(
        [*"ab0159-: \n\t[]{}&*!|>'\"#%@`,?.\\_", "odin", "name", "2022-13-45", "\x01", "  "]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_any_text_is_a_document_or_one_line_error(text: str) -> None:
    try:
        parse_yaml(text, "f.yml", Problem)
    except Problem as problem:
        assert "\n" not in str(problem)
        assert str(problem).startswith("f.yml: ")


@settings(max_examples=300, deadline=None)
@given(YAMLISH.map(lambda tail: "odin:\n  - name: o\n    " + tail))
def test_any_config_text_is_a_config_or_one_config_error(text: str) -> None:
    try:
        parse_config(text, "c.yml")
    except ConfigError as problem:
        assert "\n" not in str(problem)
        assert str(problem).startswith("c.yml: ")
