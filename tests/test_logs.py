"""Log lines: upstream text reaches them escaped, in logfmt as in JSON, and a collection logs
one line per kind of problem, not one per row (issue 21, item 5)."""

from __future__ import annotations

import json
import logging
import re
import unicodedata

import pytest

from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.core.logs import JsonFormatter, LogfmtFormatter
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.config import DidwwTarget
from tests.helpers import parsed_families, sample_value
from tests.hostile_fake import Handler, hostile_upstream, json_answer

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


def test_a_page_of_20000_invalid_pools_is_one_line_and_one_error_per_collection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 21: 20,000 pools without names wrote 20,000 lines and counted 20,000 errors."""
    pools = [{"id": f"p{n}", "type": "capacity_pools", "attributes": {}} for n in range(20000)]
    page = {"data": pools, "meta": {"total_records": len(pools)}}
    empty = {"data": [], "meta": {"total_records": 0}}
    routes: dict[tuple[str, str], Handler] = {
        ("GET", f"/v3/{path}"): lambda _: json_answer(200, empty)
        for path in ("shared_capacity_groups", "voice_in_trunks", "voice_in_trunk_groups")
    }
    routes[("GET", "/v3/capacity_pools")] = lambda _: json_answer(200, page)
    routes[("GET", "/v3/voice_out_trunks")] = lambda _: json_answer(403, {"errors": []})
    routes[("GET", "/v3/balance")] = lambda _: json_answer(
        200, {"data": {"attributes": {"balance": "1.0"}}}
    )
    with hostile_upstream(routes) as upstream:
        target = DidwwTarget(name="d", url=f"{upstream.url}/v3", api_key=Secret("k"), rate_limit=0)
        exporter = Exporter(Config(targets=(target,)))
        try:
            with caplog.at_level(logging.WARNING):
                for _ in range(3):
                    families = parsed_families(
                        exporter.scrape(Deadline(20.0)).chunks(openmetrics=False)
                    )
        finally:
            exporter.close()
    lines = [r for r in caplog.records if r.name == "exporter.core.snapshot"]
    assert len(lines) == 3, [r.getMessage()[:100] for r in lines]  # one per collection
    first = lines[0]
    assert first.count == 20000
    assert first.getMessage().startswith("capacity_pools p0.name is missing")
    assert "(and 19999 more like it: capacity_pools p1.name is missing" in first.getMessage()
    assert len(first.getMessage()) < 1000
    errors = sample_value(
        families,
        "trunk_capacity_exporter_collect_errors_total",
        target="d",
        reason="invalid_response",
    )
    assert errors == 3  # counted per reason in each collection, not per pool
