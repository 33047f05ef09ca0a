"""Capacity planning: Erlang B against published tables, the Prometheus query client against
bad answers (`responses`), the planning table, and `trunk-capacity-exporter plan` end to end
against a real Prometheus on loopback recording the mixin's planning rules."""

from __future__ import annotations

import csv
import http.server
import io
import math
import re
import shutil
import socket
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses
import yaml

from exporter.planning import command
from exporter.planning.erlang import blocking, channels_needed, traffic_carried
from exporter.planning.prometheus import PrometheusClient, PrometheusError, Sample
from exporter.planning.report import plan, render_csv, render_table
from exporter.planning.series import LEVELS
from tests.helpers import wait_until
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
RECORDING_RULES = ROOT / "deploy" / "prometheus" / "rules" / "trunk-capacity-recording.yml"
PROM = "http://prometheus.test:9090"
QUERY = f"{PROM}/api/v1/query"

# ---- Erlang B ---------------------------------------------------------------------------------

# Traffic in erlangs that N channels carry at a grade of service, as the standard Erlang B
# tables print it (e.g. the table of ITU-D's Teletraffic Engineering Handbook, Iversen, and
# every traffic table derived from it; two decimals).
PUBLISHED_CAPACITY = {
    0.01: {1: 0.01, 5: 1.36, 10: 4.46, 15: 8.11, 20: 12.03, 30: 20.34, 50: 37.90, 100: 84.06},
    0.02: {10: 5.08, 20: 13.18, 50: 40.26},
    0.05: {10: 6.22, 20: 15.25},
}


@pytest.mark.parametrize(
    ("grade", "channels", "erlangs"),
    [(g, n, e) for g, row in PUBLISHED_CAPACITY.items() for n, e in row.items()],
)
def test_traffic_carried_matches_the_published_erlang_b_table(grade, channels, erlangs):
    assert round(traffic_carried(channels, grade), 2) == pytest.approx(erlangs, abs=1e-9)


def test_blocking_of_published_points():
    # 10 E offered to 15 channels: 3.65 % of calls refused (the textbook example); at a table's
    # capacity the blocking is the grade itself.
    assert blocking(10, 15) == pytest.approx(0.0365, abs=5e-5)
    assert blocking(12.03, 20) == pytest.approx(0.01, abs=2e-5)
    assert blocking(37.90, 50) == pytest.approx(0.01, abs=2e-5)
    assert blocking(1, 1) == pytest.approx(0.5)  # E / (1 + E)


def test_channels_needed_for_a_grade_of_service():
    assert channels_needed(4.46, 0.01) == 10
    assert channels_needed(4.47, 0.01) == 11  # just beyond what 10 channels carry
    assert channels_needed(10, 0.01) == 18  # 17 carry 9.65 E, 18 carry 10.44 E
    assert channels_needed(37.90, 0.01) == 50
    assert channels_needed(0, 0.01) == 0
    # Large trunks: the recurrence neither overflows nor stalls.
    assert 1000 < channels_needed(1000, 0.01) < 1050


def test_blocking_edges_and_bad_input():
    assert blocking(5, 0) == 1.0  # no channel refuses every call
    assert blocking(0, 3) == 0.0
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="traffic"):
            blocking(bad, 10)
    with pytest.raises(ValueError, match="grade of service"):
        channels_needed(1, 0)
    with pytest.raises(ValueError, match="channels"):
        blocking(1, -1)


# ---- the query client -------------------------------------------------------------------------


def vector(*series: tuple[dict[str, str], str]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1700000000.0, v]} for m, v in series],
        },
    }


def client() -> PrometheusClient:
    return PrometheusClient(PROM, timeout=2.0)


@responses.activate
def test_query_reads_an_instant_vector():
    call = responses.add(
        responses.GET,
        QUERY,
        json=vector(({"__name__": "x", "target": "odin"}, "12.5"), ({"target": "b"}, "+Inf")),
    )
    samples = client().query('x{job="j"}')
    assert samples == [Sample({"target": "odin"}, 12.5), Sample({"target": "b"}, math.inf)]
    sent = urllib.parse.parse_qs(urllib.parse.urlsplit(call.calls[0].request.url).query)
    assert sent == {"query": ['x{job="j"}']}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {
                "status": 400,
                "json": {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": 'parse error:\n  unexpected "}"',
                },
            },
            'HTTP 400, bad_data: parse error: unexpected "}"',
        ),
        ({"status": 502, "body": "<html>Bad gateway</html>"}, "HTTP 502, not a Prometheus API"),
        ({"status": 200, "json": ["a", "list"]}, "not an object"),
        (
            {"status": 200, "json": {"status": "success", "data": {"resultType": "matrix"}}},
            "is not an instant vector",
        ),
        (
            {"status": 200, "json": {"status": "success", "data": {"resultType": "vector"}}},
            "has no result list",
        ),
        (
            {"status": 200, "json": vector(({"target": "odin"}, "many"))},
            "is malformed",
        ),
        (
            {
                "status": 200,
                "json": {
                    "status": "success",
                    "data": {"resultType": "vector", "result": [{"metric": {}}]},
                },
            },
            "is malformed",
        ),
    ],
    ids=["promql-error", "html", "not-object", "matrix", "no-result", "bad-value", "no-value"],
)
@responses.activate
def test_bad_answers_are_one_line_errors(answer, expected):
    responses.add(responses.GET, QUERY, **answer)
    with pytest.raises(PrometheusError) as caught:
        client().query("x")
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and message.startswith(PROM)


@responses.activate
def test_unreachable_and_slow_prometheus():
    responses.add(responses.GET, QUERY, body=requests.ConnectionError("refused"))
    with pytest.raises(PrometheusError, match=r"^http://prometheus.test:9090: cannot connect"):
        client().query("x")
    responses.replace(responses.GET, QUERY, body=requests.ReadTimeout("slow"))
    with pytest.raises(PrometheusError, match=r"no answer within 2 s$"):
        client().query("x")


@responses.activate
def test_credentials_in_the_url_are_never_printed():
    url = "https://planner:s3cret@prom.test:9443/prometheus"
    call = responses.add(
        responses.GET, "https://prom.test:9443/prometheus/api/v1/query", status=500
    )
    with pytest.raises(PrometheusError) as caught:
        PrometheusClient(url, timeout=1.0).query("x")
    # Sent as basic auth ("planner:s3cret" in base64), not left in the URL.
    assert call.calls[0].request.headers["Authorization"] == "Basic cGxhbm5lcjpzM2NyZXQ="
    assert "s3cret" not in str(caught.value) and "planner" not in str(caught.value)
    assert str(caught.value).startswith("https://prom.test:9443/prometheus: HTTP 500")


@pytest.mark.parametrize(
    "url", ["prom.test:9090", "admin:s3cret@prom:9090", "htp://admin:s3cret@prom:9090"]
)
def test_a_url_that_is_not_http_is_refused_without_echoing_it(url: str):
    with pytest.raises(PrometheusError, match="must be an http") as caught:
        PrometheusClient(url, timeout=1.0)
    assert "s3cret" not in str(caught.value) and url not in str(caught.value)


def test_blocking_on_a_huge_limit_ends_at_once():
    """A limit of 10^12 channels (a typo, or a cap nobody set) refuses nothing, and says so
    without counting up to it."""
    assert blocking(40.0, 10**12) == 0.0


def test_traffic_beyond_any_trunk_is_a_one_line_error(monkeypatch, capsys):
    def plan_of_a_flood(*_args):
        return channels_needed(5e6, 0.01)

    monkeypatch.setattr(command, "plan", plan_of_a_flood)
    assert command.main(["--prometheus.url=http://127.0.0.1:9"]) == command.EXIT_FAILED
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("plan: 5e+06 erlangs need more than")


# ---- the planning table -------------------------------------------------------------------------


def fake_prometheus(answers: dict[str, list[Sample]]):
    """A query function answering by the series each query names."""

    def query(expr: str) -> list[Sample]:
        for name, samples in answers.items():
            if re.search(rf"\b{re.escape(name)}\b", expr):
                return samples
        return []

    return query


def test_plan_joins_busy_hour_peak_and_limit_and_sorts_the_most_blocked_first():
    tg_labels = {"target": "odin", "service_provider": "sp1", "group": "g1"}
    answers = {
        LEVELS[0].traffic + ":hourly_max": [Sample({**tg_labels, "trunk_group": "small"}, 14.0)],
        LEVELS[0].traffic + ":hourly_avg": [
            Sample({**tg_labels, "trunk_group": "small"}, 10.0),
            Sample({**tg_labels, "trunk_group": "roomy"}, 4.46),
            Sample({**tg_labels, "trunk_group": "open"}, 50.0),
        ],
        LEVELS[0].limit: [
            Sample({**tg_labels, "trunk_group": "small"}, 15.0),
            Sample({**tg_labels, "trunk_group": "roomy"}, 10.0),
            Sample({**tg_labels, "trunk_group": "open"}, math.inf),
        ],
    }
    rows = plan(LEVELS[:1], fake_prometheus(answers), 7 * 86400, 0.01)
    assert [r.labels["trunk_group"] for r in rows] == ["small", "roomy", "open"]
    small, roomy, unlimited = rows
    assert small.blocking == pytest.approx(0.0365, abs=5e-5)
    assert small.channels == 18
    assert roomy.channels == 10 and roomy.blocking is not None and roomy.blocking <= 0.01
    assert unlimited.blocking == 0.0
    table = render_table(rows, 0.01)
    assert "CHANNELS@1%" in table.splitlines()[0]
    assert "3.65%" in table and "unlimited" in table
    parsed = list(csv.DictReader(io.StringIO(render_csv(rows))))
    assert parsed[0] == {
        "level": "trunk_group",
        "target": "odin",
        "object": "sp1/g1/small",
        "busy_hour_erlangs": "10.00",
        "busy_hour_peak": "14",
        "limit": "15",
        "blocking_at_limit": "0.0365",
        "channels_needed": "18",
        "spare_channels": "-3",
    }


def test_an_object_without_a_limit_still_gets_its_channels():
    answers = {
        LEVELS[2].traffic + ":hourly_avg": [Sample({"target": "didww", "pool": "Standard"}, 20.0)]
    }
    (row,) = plan(LEVELS[2:], fake_prometheus(answers), 86400, 0.01)
    assert row.limit is None and row.blocking is None
    assert row.channels == channels_needed(20.0, 0.01) == 30


# ---- `plan` end to end --------------------------------------------------------------------------

# What the exporter would serve: one trunk group of 7 incoming and 3 outgoing calls (10 E all
# along) under an effective limit of 12 + 3 bursting, in a service provider capped at 40 + 10
# bursting, of which its trunk groups can use 3: an effective cap of 43.
TG = 'target="odin",service_provider="sp1",group="g1",trunk_group="tg1"'
SP = 'target="odin",service_provider="sp1"'
STATIC_METRICS = f"""\
odin_trunk_group_active_calls{{{TG},direction="incoming"}} 7
odin_trunk_group_active_calls{{{TG},direction="outgoing"}} 3
odin_trunk_group_max_active_calls{{{TG}}} 12
odin_trunk_group_bursting_max_active_calls{{{TG}}} 3
odin_service_provider_max_active_calls{{{SP}}} 40
odin_service_provider_bursting_max_active_calls{{{SP}}} 10
"""


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = STATIC_METRICS.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def static_exporter() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def prometheus_url(static_exporter: str, tmp_path: Path, processes: Processes) -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not found: install Debian's prometheus package (make test-tools)")
    shutil.copy(RECORDING_RULES, tmp_path / RECORDING_RULES.name)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [RECORDING_RULES.name],
        "scrape_configs": [
            {
                "job_name": "trunk-capacity-exporter",
                "static_configs": [{"targets": [static_exporter]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    server = processes.start(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            "--web.listen-address=127.0.0.1:0",
        ],
        cwd=tmp_path,
    )
    url = server.url()
    server.wait_until_ok(f"{url}/-/ready")
    return url


def run_plan(processes: Processes, *args: str):
    return processes.run([sys.executable, "-m", "exporter", "plan", *args], timeout=60)


def test_plan_against_a_real_prometheus(prometheus_url: str, processes: Processes):
    recorded = (
        "target_service_provider:odin_trunk_group_active_calls:hourly_avg",
        "target_service_provider_group_trunk_group:odin_trunk_group_active_calls:hourly_max",
    )
    api = PrometheusClient(prometheus_url, timeout=5.0)
    wait_until(lambda: all(api.query(name) for name in recorded), 30, "the planning series")

    result = run_plan(processes, f"--prometheus.url={prometheus_url}", "--csv")
    assert result.returncode == 0, result.stderr
    rows = {(r["level"], r["object"]): r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {("trunk_group", "sp1/g1/tg1"), ("service_provider", "sp1")}
    tg = rows["trunk_group", "sp1/g1/tg1"]
    # 10 E on an effective limit of 12 + 3: B(10, 15) = 3.65 %, 18 channels for 1 %.
    assert tg["busy_hour_erlangs"] == "10.00" and tg["busy_hour_peak"] == "10"
    assert tg["limit"] == "15" and tg["blocking_at_limit"] == "0.0365"
    assert tg["channels_needed"] == "18" and tg["spare_channels"] == "-3"
    sp = rows["service_provider", "sp1"]
    assert sp["limit"] == "43" and sp["channels_needed"] == "18" and sp["spare_channels"] == "25"

    table = run_plan(processes, f"--prometheus.url={prometheus_url}", "--level", "trunk_group")
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.splitlines()
    assert header.split()[:3] == ["LEVEL", "TARGET", "OBJECT"]
    assert line.split() == [
        "trunk_group",
        "odin",
        "sp1/g1/tg1",
        "10.00",
        "10",
        "15",
        "3.65%",
        "18",
        "-3",
    ]

    bad = run_plan(processes, f"--prometheus.url={prometheus_url}", "--period", "30m")
    assert bad.returncode == 2 and "an hour or more" in bad.stderr


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_plan_says_in_one_line_when_prometheus_is_not_there(processes: Processes):
    port = closed_port()
    result = run_plan(processes, f"--prometheus.url=http://127.0.0.1:{port}", "--timeout=2s")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"plan: http://127.0.0.1:{port}: cannot connect (ConnectionError)\n"
