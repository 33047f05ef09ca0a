"""The shipped dashboards and rules against a real Prometheus scraping the exporter's demo.

Starts `python -m exporter --demo` and Debian's `prometheus` (v2.42) on loopback, Prometheus
scraping the exporter every second with the shipped rule files loaded, then evaluates through
Prometheus' HTTP API every template variable and panel query of every dashboard and every rule
expression. All must be valid; panel queries and variables must return data from the demo, and
the demo must fire exactly the alerts docs/alerting.md lists for it.
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

from tests.helpers import CAPACITY_ALERTS  # capacity, not exporter health
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
RECORDING_RULES = RULES_DIR / "trunk-capacity-recording.yml"
ALERT_RULES = RULES_DIR / "trunk-capacity-alerts.yml"

# Panel queries and recording rules built on metrics the exporter does not expose yet: they
# may return nothing while (and only while) Prometheus has no series of the named metric.
# Once the exporter exposes it, they must return data like every other query.
UNTIL_EXPOSED = {
    # The capacity chain needs `links:` in the exporter config (issue 11, exporter side).
    "trunk_capacity_link_info": re.compile(r"\blink:"),
}
DEMO_DOCS = ROOT / "docs" / "alerting.md"

# Grafana's built-in interval variables: one minute spans ~60 one-second scrapes.
BUILTIN_INTERVALS = ("__rate_interval", "__interval", "__range")
WARMUP_TIMEOUT = 45.0
pytestmark = pytest.mark.slow


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class PrometheusAPI:
    def __init__(self, base: str):
        self.base = base

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
def exporter_url(module_processes: Processes) -> str:
    """HOST:PORT of `python -m exporter --demo`, answering /-/healthy."""
    exporter = module_processes.start_exporter("--demo", "--web.listen-address", "127.0.0.1:0")
    return exporter.url().removeprefix("http://")


def alert_rules_without_for(path: Path) -> dict:
    """The shipped alert rules with every `for:` set to 0s.

    The real durations (5m to 1h) are far longer than this test may run; with 0s an alert whose
    expression is true fires at its first evaluation, which is what the demo must show.
    """
    doc = yaml.safe_load(path.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    return doc


@pytest.fixture(scope="module")
def prometheus(exporter_url, tmp_path_factory, module_processes: Processes):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not found: install Debian's prometheus package")
    work = tmp_path_factory.mktemp("prometheus")
    shutil.copy(RECORDING_RULES, work / RECORDING_RULES.name)
    (work / ALERT_RULES.name).write_text(yaml.safe_dump(alert_rules_without_for(ALERT_RULES)))
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [RECORDING_RULES.name, ALERT_RULES.name],
        "scrape_configs": [
            {
                "job_name": "trunk-capacity-exporter",
                "static_configs": [{"targets": [exporter_url]}],
            }
        ],
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
    return PrometheusAPI(url)


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


def unexposed(api: PrometheusAPI) -> list[re.Pattern[str]]:
    """Patterns of the queries that may be empty: their metric has no series at all yet."""
    return [
        pattern
        for metric, pattern in UNTIL_EXPOSED.items()
        if not api.query(f"count({metric})")["data"]["result"]
    ]


def tolerated(expr: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(pattern.search(expr) for pattern in patterns)


def evaluate_panels(api: PrometheusAPI) -> tuple[list[str], list[str]]:
    """(invalid queries, queries without data) as readable lines."""
    invalid, empty = [], []
    patterns = unexposed(api)
    for dashboard, title, ref, expr in panel_queries():
        key = (dashboard["uid"], title, ref)
        query = substitute(expr, dashboard, api)
        assert "$" not in query, f"unsubstituted variable in {key}: {query}"
        payload = api.query(query)
        if payload["status"] != "success":
            invalid.append(f"{key}: {query}\n    -> {payload.get('error')}")
        elif not payload["data"]["result"] and not tolerated(expr, patterns):
            empty.append(f"{key}: {query}")
    return invalid, empty


def missing_recorded_series(api: PrometheusAPI) -> list[str]:
    patterns = unexposed(api)
    return [
        r["record"]
        for r in rules()
        if "record" in r
        and not tolerated(r["record"], patterns)
        and not api.query(r["record"])["data"]["result"]
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


def firing_alerts(api: PrometheusAPI) -> set[tuple[str, str, str]]:
    """(alertname, severity, object) of every firing alert."""
    return {
        (a["labels"]["alertname"], a["labels"]["severity"], alert_object(a["labels"]))
        for a in active_alerts(api)
        if a["state"] == "firing"
    }


def expected_firing() -> set[tuple[str, str, str]]:
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
        missing_alerts = expected_firing() - firing_alerts(prometheus)
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


def test_tolerance_is_still_needed_and_only_for_unexposed_metrics(warm):
    """Each UNTIL_EXPOSED pattern covers real queries; exposed metrics get no tolerance."""
    exprs = [expr for _d, _t, _r, expr in panel_queries()] + [
        r["record"] for r in rules() if "record" in r
    ]
    for metric, pattern in UNTIL_EXPOSED.items():
        assert any(pattern.search(e) for e in exprs), f"{metric}: no query left to tolerate"
    exposed = [m for m in UNTIL_EXPOSED if warm.query(f"count({m})")["data"]["result"]]
    assert not {UNTIL_EXPOSED[m] for m in exposed} & set(unexposed(warm))


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


def test_the_demo_fires_the_alerts_docs_alerting_md_lists(warm):
    """Every `always` row fires; nothing fires that the table does not list."""
    table = demo_table()
    firing = firing_alerts(warm)
    missing = expected_firing() - firing
    assert not missing, f"listed as always firing but not firing: {sorted(missing)}"
    listed = {(a.alertname, a.severity, a.on) for a in table}
    unlisted = firing - listed
    assert not unlisted, f"firing in the demo but not in docs/alerting.md: {sorted(unlisted)}"
    assert any(name in CAPACITY_ALERTS for name, _s, _o in firing)


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
