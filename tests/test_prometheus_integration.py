"""The path as written: the docs' Prometheus configs, the shipped rules and dashboards, the demo.

Starts `python -m exporter --demo` and Debian's `prometheus` on loopback with a config put
together the way a new operator would: the scrape job printed in README.md (and, as a second
run, the `/probe` job printed in docs/deployment.md), taken out of the Markdown, and the rule
files docs/alerting.md tells them to load, unchanged. The test changes only what an operator
changes for their site: the exporter's address, the target names of their config, and the
scrape interval and timeout (1 s, so that the test runs in seconds). Through Prometheus' HTTP
API it then evaluates every template variable and panel query of every dashboard and every
rule. All must be valid and return data from the demo, and the demo's alerts must be exactly
those docs/alerting.md lists for it, pending or firing (the rules keep their `for:`), with
`TrunkCapacityExporterJobAbsent` quiet.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import (  # capacity, not exporter health
    CAPACITY_ALERTS,
    printed_prometheus_configs,
    printed_yaml_blocks,
)
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
RECORDING_RULES = RULES_DIR / "trunk-capacity-recording.yml"
ALERT_RULES = RULES_DIR / "trunk-capacity-alerts.yml"
DEMO_DOCS = ROOT / "docs" / "alerting.md"
DEMO_TARGETS = {"odin": "odin-demo", "didww": "didww-demo"}  # the demo config's target names
# The printed jobs this test runs: (document, job_name).
PRINTED_JOBS = [("README.md", "trunk-capacity-exporter"), ("deployment.md", "trunk-capacity-probe")]

PROCESS_METRIC = re.compile(r"\bprocess_[a-z_]+")

# Grafana's built-in interval variables: one minute spans ~60 one-second scrapes.
BUILTIN_INTERVALS = ("__rate_interval", "__interval", "__range")
WARMUP_TIMEOUT = 90.0  # under a full suite on two cores, a 1 s scrape may time out now and then
pytestmark = pytest.mark.slow


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class PrometheusAPI:
    def __init__(self, base: str, job: str):
        self.base = base
        self.job = job  # the printed job it runs

    def get(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(f"{self.base}{path}?{query}" if query else f"{self.base}{path}")
        payload = json.loads(body)
        payload["http_status"] = status
        return payload

    def query(self, expr: str) -> dict:
        return self.get("/api/v1/query", query=expr)

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params = {"match[]": match} if match else {}
        payload = self.get(f"/api/v1/label/{label}/values", **params)
        assert payload["status"] == "success", (label, match, payload)
        return payload["data"]


@pytest.fixture(scope="module")
def exporter_address(module_processes: Processes) -> str:
    """HOST:PORT of `python -m exporter --demo`, answering /-/healthy."""
    exporter = module_processes.start_exporter("--demo", "--web.listen-address", "127.0.0.1:0")
    return exporter.url().removeprefix("http://")


def printed_job(document: str, job_name: str) -> dict:
    """The scrape job as the document prints it."""
    jobs = [
        job
        for doc, config in printed_prometheus_configs()
        if doc == document
        for job in config["scrape_configs"]
        if job["job_name"] == job_name
    ]
    assert jobs, f"{document} no longer prints the job {job_name}"
    return jobs[0]


def printed_rule_files() -> list[Path]:
    """The rule files docs/alerting.md tells operators to load, as files of this checkout."""
    (rule_files,) = [
        block["rule_files"]
        for _doc, block in printed_yaml_blocks(DEMO_DOCS)
        if isinstance(block, dict) and "rule_files" in block
    ]
    return [RULES_DIR / Path(path).name for path in rule_files]


def for_this_site(job: dict, exporter_address: str) -> dict:
    """The printed job with what an operator fills in: the exporter's address (where the job
    scrapes, or where its relabelling sends /probe), their targets' names, and the test's
    1-second interval and timeout. Everything else (job name, path, relabelling) as printed."""
    text = yaml.safe_dump(job)
    printed_address = "trunk-capacity-exporter:10042"
    assert printed_address in text, "the printed job no longer scrapes the documented address"
    site = yaml.safe_load(text.replace(printed_address, exporter_address))
    site["scrape_interval"] = site["scrape_timeout"] = "1s"
    if site.get("metrics_path") == "/probe":
        (static,) = site["static_configs"]
        assert len(static["targets"]) == len(DEMO_TARGETS)
        static["targets"] = list(DEMO_TARGETS.values())
    return site


@pytest.fixture(scope="module", params=PRINTED_JOBS, ids=lambda job: f"{job[0]}:{job[1]}")
def prometheus(request, exporter_address, tmp_path_factory, module_processes: Processes):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not found: install Debian's prometheus package")
    document, job_name = request.param
    work = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"evaluation_interval": "1s"},
        "rule_files": [str(path) for path in printed_rule_files()],
        "scrape_configs": [for_this_site(printed_job(document, job_name), exporter_address)],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    server = module_processes.start(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            "--web.listen-address=127.0.0.1:0",
        ],
        cwd=work,
    )
    url = server.url()  # it binds port 0 and logs where it listens
    server.wait_until_ok(f"{url}/-/ready")
    return PrometheusAPI(url, job_name)


# ---- dashboards -----------------------------------------------------------------------------


def all_panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def load_dashboards() -> list[dict]:
    return [json.loads(path.read_text()) for path in DASHBOARDS]


def substitute(expr: str, dashboard: dict, api: PrometheusAPI) -> str:
    """Fill in Grafana variables as a user who selected "All" would get them."""
    for name in BUILTIN_INTERVALS:
        expr = re.sub(rf"\$\{{?{name}\}}?", "1m", expr)
    variables = sorted(
        (v for v in dashboard["templating"]["list"] if v["type"] != "datasource"),
        key=lambda v: -len(v["name"]),
    )
    for var in variables:
        ref = rf"\$(?:\{{{var['name']}\}}|{var['name']}(?![A-Za-z0-9_]))"
        # In a regex matcher, "All" is the variable's allValue, `.*`.
        expr = re.sub(rf'=~"{ref}"', '=~".*"', expr)
        if not re.search(ref, expr):
            continue
        if var["type"] == "query":
            label, match = parse_label_values(var["query"])
            values = api.label_values(label, substitute(match, dashboard, api))
            assert values, f"variable {var['name']} has no value to substitute"
            value = values[0]
        else:  # custom, textbox, constant: the saved current value
            value = var["current"]["value"]
        expr = re.sub(ref, lambda _m, v=value: v, expr)
    return expr


def parse_label_values(query: str | dict) -> tuple[str, str]:
    text = query["query"] if isinstance(query, dict) else query
    m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", text, re.S)
    assert m, f"not a label_values(selector, label) query: {text!r}"
    return m.group(2), m.group(1).strip()


def panel_queries() -> list[tuple[dict, str, str, str]]:
    """(dashboard, panel title, refId, expr) for every target of every panel."""
    out = []
    for dashboard in load_dashboards():
        for panel in all_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                out.append((dashboard, panel["title"], target["refId"], target["expr"]))
    return out


def evaluate_panels(api: PrometheusAPI) -> tuple[list[str], list[str]]:
    """(invalid queries, queries without data) as readable lines."""
    invalid, empty = [], []
    for dashboard, title, ref, expr in panel_queries():
        key = (dashboard["uid"], title, ref)
        query = substitute(expr, dashboard, api)
        # `$1` is a label_replace group (the alerts table's runbook column), not a variable.
        assert not re.search(r"\$(?!\d)", query), f"unsubstituted variable in {key}: {query}"
        payload = api.query(query)
        if payload["status"] != "success":
            invalid.append(f"{key}: {query}\n    -> {payload.get('error')}")
        elif not payload["data"]["result"] and not served_elsewhere(api, query):
            empty.append(f"{key}: {query}")
    return invalid, empty


def served_elsewhere(api: PrometheusAPI, query: str) -> bool:
    """A query on the exporter's process metrics, which only /metrics serves (DESIGN.md): a
    /probe-only job has none, and deployment.md says so."""
    return api.job == "trunk-capacity-probe" and bool(PROCESS_METRIC.search(query))


def missing_recorded_series(api: PrometheusAPI) -> list[str]:
    return [
        r["record"]
        for r in rules()
        if "record" in r and not api.query(r["record"])["data"]["result"]
    ]


@dataclass(frozen=True)
class DemoAlert:
    """A row of the demo table in docs/alerting.md."""

    alertname: str
    severity: str
    on: str
    always: bool
    after: str


def demo_table() -> list[DemoAlert]:
    text = DEMO_DOCS.read_text()
    table = text.split("<!-- demo-alerts:start -->")[1].split("<!-- demo-alerts:end -->")[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].startswith("TrunkCapacity"):
            continue
        name, severity, on, when, after = cells[:5]
        assert when in ("always", "at peaks", "later"), line
        rows.append(DemoAlert(name, severity, on, when == "always", after))
    assert rows, "no demo table in docs/alerting.md"
    return rows


def alert_object(labels: dict[str, str]) -> str:
    """What an alert is about: its most specific label."""
    for label in ("trunk_group", "group", "service_provider", "pool", "voice_out_trunk"):
        if labels.get(label):
            return labels[label]
    return labels.get("target", "")


def rules() -> list[dict]:
    out = []
    for path in (RECORDING_RULES, ALERT_RULES):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out.extend(group["rules"])
    return out


def raised_alerts(api: PrometheusAPI) -> set[tuple[str, str, str]]:
    """(alertname, severity, object) of every pending or firing alert: with the shipped
    `for:` durations (up to an hour), pending is how far a test run gets."""
    return {
        (a["labels"]["alertname"], a["labels"]["severity"], alert_object(a["labels"]))
        for a in active_alerts(api)
        if a["state"] in ("pending", "firing")
    }


def expected_raised() -> set[tuple[str, str, str]]:
    return {(a.alertname, a.severity, a.on) for a in demo_table() if a.always}


def active_alerts(api: PrometheusAPI) -> list[dict]:
    payload = api.get("/api/v1/alerts")
    assert payload["status"] == "success", payload
    return payload["data"]["alerts"]


@pytest.fixture(scope="module")
def warm(prometheus):
    """Wait until the demo's series, the recorded series and the alerts are all in."""
    deadline = time.monotonic() + WARMUP_TIMEOUT
    while True:
        invalid, empty = evaluate_panels(prometheus)
        missing = missing_recorded_series(prometheus)
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        unevaluated = [r["name"] for g in groups for r in g["rules"] if r["health"] == "unknown"]
        missing_alerts = expected_raised() - raised_alerts(prometheus)
        done = not (invalid or empty or missing or unevaluated or missing_alerts)
        if done or time.monotonic() > deadline:
            return prometheus
        time.sleep(1.0)


def test_every_dashboard_variable_returns_values(warm):
    failures = []
    for dashboard in load_dashboards():
        for var in dashboard["templating"]["list"]:
            if var["type"] != "query":
                continue
            label, match = parse_label_values(var["query"])
            values = warm.label_values(label, substitute(match, dashboard, warm))
            if not values:
                failures.append(f"{dashboard['uid']} ${var['name']}: {var['query']}")
    assert not failures, "template variables without values:\n" + "\n".join(failures)


def test_every_panel_query_is_valid_and_returns_data(warm):
    queries = panel_queries()
    assert len(queries) > 40, "the dashboards lost their panels"
    invalid, empty = evaluate_panels(warm)
    assert not invalid, "invalid panel queries:\n" + "\n".join(invalid)
    assert not empty, "panel queries without data from the demo:\n" + "\n".join(empty)


def test_every_rule_expression_is_valid(warm):
    invalid = []
    all_rules = rules()
    assert len(all_rules) >= 20
    for rule in all_rules:
        payload = warm.query(rule["expr"])
        if payload["status"] != "success":
            invalid.append(f"{rule.get('record') or rule.get('alert')}: {payload.get('error')}")
    assert not invalid, "\n".join(invalid)


def test_every_recording_rule_produces_series(warm):
    missing = missing_recorded_series(warm)
    assert not missing, f"recording rules without series from the demo: {missing}"


def test_rules_evaluate_without_errors(warm):
    groups = warm.get("/api/v1/rules")["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"]}
    shipped = {r.get("record") or r.get("alert") for r in rules()}
    assert shipped <= loaded, f"rules not loaded: {shipped - loaded}"
    bad = [
        f"{r['name']}: {r['health']} {r.get('lastError', '')}"
        for g in groups
        for r in g["rules"]
        if r["health"] != "ok"
    ]
    assert not bad, "\n".join(bad)


def test_the_demo_raises_the_alerts_docs_alerting_md_lists(warm):
    """Every `always` row is pending or firing; nothing else is, JobAbsent least of all."""
    table = demo_table()
    raised = raised_alerts(warm)
    missing = expected_raised() - raised
    assert not missing, f"listed as always firing but not raised: {sorted(missing)}"
    listed = {(a.alertname, a.severity, a.on) for a in table}
    unlisted = raised - listed
    assert not unlisted, f"raised in the demo but not in docs/alerting.md: {sorted(unlisted)}"
    assert any(name in CAPACITY_ALERTS for name, _s, _o in raised)
    assert "TrunkCapacityExporterJobAbsent" not in {name for name, _s, _o in raised}


def test_the_printed_job_is_the_one_prometheus_runs(warm):
    """The job name reaches the series as printed: what the rules and dashboards select."""
    jobs = warm.label_values("job", "odin_up")
    assert jobs == [warm.job]


def test_the_demo_table_states_each_alerts_for_duration():
    """ "After" is the rule's `for:`: how long the demo runs before the alert fires."""
    durations = {
        (r["alert"], r["labels"]["severity"]): r.get("for", "0s") for r in rules() if "alert" in r
    }
    wrong = [
        f"{a.alertname} {a.severity}: table says {a.after}, rule says {durations.get(key)}"
        for a in demo_table()
        if durations.get(key := (a.alertname, a.severity)) != a.after
    ]
    assert not wrong, "\n".join(wrong)


def test_no_capacity_alert_on_unlimited_caps(warm):
    unlimited_sps = {
        (s["metric"]["target"], s["metric"]["service_provider"])
        for s in warm.query("odin_service_provider_max_active_calls == +Inf")["data"]["result"]
    }
    unlimited_tgs = {
        s["metric"]["trunk_group"]
        for s in warm.query("odin_trunk_group_max_active_calls == +Inf")["data"]["result"]
    }
    if not unlimited_sps and not unlimited_tgs:
        pytest.skip("the demo has no unlimited (+Inf) service provider or trunk group cap to check")
    sp_alerts = {
        "TrunkCapacityServiceProviderOversubscribed",
        "TrunkCapacityServiceProviderSaturated",
    }
    wrong = []
    for alert in active_alerts(warm):
        labels = alert["labels"]
        if (
            labels["alertname"] in sp_alerts
            and (labels.get("target"), labels.get("service_provider")) in unlimited_sps
        ):
            wrong.append(labels)
        if (
            labels["alertname"].startswith("TrunkCapacityTrunkGroup")
            and labels.get("trunk_group") in unlimited_tgs
        ):
            wrong.append(labels)
    assert not wrong, f"alerts on unlimited caps: {wrong}"
