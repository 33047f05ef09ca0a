"""Log lines: upstream text reaches them escaped, in logfmt as in JSON (issue 21, item 5)."""

from __future__ import annotations

import json
import logging
import re
import unicodedata

import pytest

from exporter.core.logs import JsonFormatter, LogfmtFormatter

# What an Odin 500 put in its `details` to forge a line of its own and act on a terminal.
FORGED = "\r\x1b[2K\x07level=error msg=FORGED\u2028\u202e\x85\u200b\x00\ud800"

LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def record(message: str, **fields: object) -> logging.LogRecord:
    made = logging.makeLogRecord({"msg": message, "levelname": "WARNING", "levelno": 30})
    for key, value in fields.items():
        setattr(made, key, value)
    return made


def test_logfmt_escapes_every_control_and_format_character() -> None:
    line = LogfmtFormatter().format(record(f"HTTP 500: {FORGED}", target="odin", detail=FORGED))
    unsafe = [c for c in line if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}]
    assert unsafe == []
    assert "\\u001b[2K\\u0007level=error msg=FORGED\\u2028\\u202e\\u0085\\u200b\\u0000" in line
    assert "\\r" in line and "\\ud800" in line
    # The forged `level=` and `msg=` stay inside quoted values: the line has our keys only.
    pairs = LOGFMT_PAIR.findall(line)
    assert " ".join(f"{key}={value}" for key, value in pairs) == line
    assert [key for key, _ in pairs] == ["ts", "level", "msg", "target", "detail"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ('a "quote" and \\', '"a \\"quote\\" and \\\\"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("Zürich", '"Zürich"'),  # printable: kept as it is, quoted
        ("", '""'),
    ],
)
def test_logfmt_values_read_back_as_written(value: str, written: str) -> None:
    line = LogfmtFormatter().format(record("m", field=value))
    assert line.endswith(f" field={written}")
    if written.startswith('"'):
        assert json.loads(written) == value  # the same escapes as JSON


def test_json_lines_escape_the_same_characters() -> None:
    line = JsonFormatter().format(record("m", detail=FORGED.replace("\ud800", "")))
    assert all(c.isascii() and c.isprintable() for c in line)
    assert json.loads(line)["detail"] == FORGED.replace("\ud800", "")
