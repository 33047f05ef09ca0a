"""Prometheus recording and alert rules: promtool checks and unit tests, conventions, runbooks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter.config.section import parse_duration
from tests.helpers import ALERT_RULES, CAPACITY_ALERTS, alerts

ROOT = Path(__file__).resolve().parent.parent
PROM_DIR = ROOT / "deploy" / "prometheus"
RULES_DIR = PROM_DIR / "rules"
RECORDING_RULES = RULES_DIR / "trunk-capacity-recording.yml"
UNIT_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))
SCENARIOS = ROOT / "deploy" / "mixin" / "tests"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RUNBOOK_BASE = (
    "https://github.com/trunk-capacity-exporter/trunk-capacity-exporter/blob/main/docs/runbooks.md#"
)
BALANCE_THRESHOLD = "target:didww_account_balance:threshold"
ALERTING_DOCS = ROOT / "docs" / "alerting.md"

# Alerts on live capacity: they keep firing through a short outage of their data.
KEEP_FIRING_ALERTS = {
    "TrunkCapacityTrunkGroupSaturated",
    "TrunkCapacityTrunkGroupDirectionSaturated",
    "TrunkCapacityGroupSaturated",
    "TrunkCapacityServiceProviderSaturated",
    "TrunkCapacityChainNearCarrierLimit",
    "TrunkCapacityPoolNearExhaustion",
    "TrunkCapacityPoolExhaustionForecast",
    "TrunkCapacityBalanceLow",
    "TrunkCapacityBalanceExhaustionForecast",
}


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def rules_of(path: Path) -> list[dict]:
    return [rule for group in load(path)["groups"] for rule in group["rules"]]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading."""
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {
        github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", RUNBOOKS.read_text(), re.M)
    }


# ---- promtool -------------------------------------------------------------------------------


def test_rule_files_are_exactly_the_two_shipped():
    # deploy/kubernetes generates its PrometheusRule from these two names.
    assert sorted(p.name for p in RULES_DIR.iterdir()) == [
        "trunk-capacity-alerts.yml",
        "trunk-capacity-recording.yml",
    ]


def test_promtool_check_rules(promtool):
    result = run([promtool, "check", "rules", str(RECORDING_RULES), str(ALERT_RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2, result.stdout


def test_promtool_check_example_config(promtool):
    result = run([promtool, "check", "config", str(PROM_DIR / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("test_file", UNIT_TESTS, ids=lambda path: path.name)
def test_promtool_test_rules_as_shipped(promtool, test_file: Path):
    """Exactly what an operator runs: plain promtool on the shipped file, annotations included."""
    result = run([promtool, "test", "rules", str(test_file.relative_to(ROOT))])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_every_shipped_test_has_its_scenario_source():
    assert [p.name for p in UNIT_TESTS] == [p.name for p in sorted(SCENARIOS.glob("*.yml"))]


def shipped_copy(tmp: Path, test_file: Path) -> tuple[Path, dict]:
    """The shipped rules and one shipped test, laid out as in the repository, under `tmp`."""
    shutil.copytree(RULES_DIR, tmp / "rules")
    (tmp / "tests").mkdir()
    return tmp / "tests" / test_file.name, load(test_file)


def first_expected_alert(doc: dict) -> dict:
    return next(
        alert
        for group in doc["tests"]
        for case in group.get("alert_rule_test", [])
        for alert in case.get("exp_alerts") or []
    )


@pytest.mark.slow
@pytest.mark.parametrize("change", ["no alert", "another description"])
def test_promtool_test_rules_detects_a_wrong_expectation(promtool, tmp_path, change: str):
    """Guard against a vacuous suite: a wrong expected alert, or annotation, fails."""
    path, doc = shipped_copy(tmp_path, UNIT_TESTS[0])
    if change == "no alert":
        case = next(
            case
            for group in doc["tests"]
            for case in group.get("alert_rule_test", [])
            if case.get("exp_alerts")
        )
        case["exp_alerts"] = []
    else:
        first_expected_alert(doc)["exp_annotations"]["description"] += " (edited)"
    path.write_text(yaml.safe_dump(doc))
    result = run([promtool, "test", "rules", str(path)])
    assert result.returncode != 0, result.stdout


def test_every_expected_alert_spells_out_its_annotations():
    for path in UNIT_TESTS:
        alert = first_expected_alert(load(path)) if "exp_labels" in path.read_text() else None
        if alert is not None:
            assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}


# ---- unit-test coverage ---------------------------------------------------------------------


def unit_test_cases() -> list[tuple[dict, dict]]:
    """(test group, alert_rule_test case) for every case of every unit-test file."""
    cases = []
    for path in UNIT_TESTS:
        doc = load(path)
        assert {Path(f).name for f in doc["rule_files"]} == {RECORDING_RULES.name, ALERT_RULES.name}
        for group in doc["tests"]:
            for case in group.get("alert_rule_test", []):
                cases.append((group, case))
    return cases


def expected_severities(case: dict) -> set[str]:
    return {alert["exp_labels"]["severity"] for alert in case.get("exp_alerts") or []}


def test_every_alert_has_a_firing_and_a_not_firing_unit_test():
    """Per alert and severity: a case where it fires, and one where it does not."""
    cases = unit_test_cases()
    rules = {(rule["alert"], rule["labels"]["severity"]) for rule in alerts()}
    firing = {(case["alertname"], sev) for _, case in cases for sev in expected_severities(case)}
    quiet = {
        (case["alertname"], severity)
        for _, case in cases
        for _, severity in rules
        if severity not in expected_severities(case)
    }
    assert rules - firing == set(), "alerts without a firing test case"
    assert rules - quiet == set(), "alerts without a not-firing test case"
    assert firing - rules == set(), "test cases for alerts that do not exist"


def is_near_miss(group: dict, case: dict) -> bool:
    """A case where a paging alert stays quiet just short of what it is named for: its
    warning fires instead, the group is named as a near miss, or the same situation pages
    later in the group (quiet only until its `for:` has passed)."""
    if "critical" in expected_severities(case):
        return False
    pages_later = any(
        other["alertname"] == case["alertname"]
        and "critical" in expected_severities(other)
        and parse_duration(other["eval_time"]) > parse_duration(case["eval_time"])
        for other in group.get("alert_rule_test", [])
    )
    return "warning" in expected_severities(case) or "near miss" in group["name"] or pages_later


def test_every_paging_alert_has_a_near_miss_unit_test():
    paging = {rule["alert"] for rule in alerts() if rule["labels"]["severity"] == "critical"}
    near_misses = {
        case["alertname"] for group, case in unit_test_cases() if is_near_miss(group, case)
    }
    assert paging - near_misses == set(), "paging alerts without a near-miss case"


def test_every_capacity_alert_has_an_unlimited_not_firing_unit_test():
    covered = set()
    for group, case in unit_test_cases():
        inf_input = any("Inf" in str(s["values"]) for s in group["input_series"])
        if inf_input and "unlimited" in group.get("name", "") and not case.get("exp_alerts"):
            covered.add(case["alertname"])
    assert {rule["alert"] for rule in alerts()} >= CAPACITY_ALERTS
    assert CAPACITY_ALERTS - covered == set(), "capacity alerts without an unlimited (+Inf) case"


# ---- conventions ----------------------------------------------------------------------------


def test_alerts_follow_the_mixin_conventions():
    problems = []
    anchors = runbook_anchors()
    seen: set[tuple[str, str]] = set()
    for rule in alerts():
        name = rule["alert"]
        key = (name, rule.get("labels", {}).get("severity", ""))
        if key in seen:
            problems.append(f"{name}: two rules with severity {key[1]}")
        seen.add(key)
        if not re.fullmatch(r"TrunkCapacity(?:[A-Z][a-z0-9]+)+", name):
            problems.append(f"{name}: not CamelCase with the TrunkCapacity prefix")
        if rule.get("labels", {}).get("severity") not in {"critical", "warning", "info"}:
            problems.append(f"{name}: severity must be critical, warning or info")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not str(annotations.get(key, "")).strip():
                problems.append(f"{name}: no {key}")
        url = annotations.get("runbook_url", "")
        if not url.startswith(RUNBOOK_BASE):
            problems.append(f"{name}: runbook_url does not start with {RUNBOOK_BASE}")
        elif url.removeprefix(RUNBOOK_BASE) not in anchors:
            problems.append(
                f"{name}: runbook anchor {url.split('#')[1]} missing in docs/runbooks.md"
            )
    assert not problems, "\n".join(problems)


def severities() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rule in alerts():
        out.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    return out


def test_one_alert_name_per_condition_severity_as_a_label():
    """Saturation has degrees: one name, a critical and a warning rule (inhibition needs it)."""
    by_name = severities()
    for level in ("TrunkGroup", "TrunkGroupDirection", "Group", "ServiceProvider"):
        assert len(by_name[f"TrunkCapacity{level}Saturated"]) == 2
    assert by_name["TrunkCapacityBalanceExhaustionForecast"] == {"critical", "warning"}
    assert by_name["TrunkCapacityChainNearCarrierLimit"] == {"critical", "warning"}
    assert by_name["TrunkCapacityExporterDown"] == {"critical", "warning"}
    assert by_name["TrunkCapacityExporterJobAbsent"] == {"critical", "warning"}
    # No name says its severity: that is the label's job.
    assert not [n for n in by_name if re.search(r"NearCall|AtCall|Critical|Warning", n)]


def test_the_paging_policy_of_docs_alerting_md():
    """What pages: calls refused at the operator's own limits or about to be, and the exporter
    blind for long; exporter health is a ticket first, a vendor outage and a customer's own cap
    never page."""
    paging = {
        (rule["alert"], rule.get("for"))
        for rule in alerts()
        if rule["labels"]["severity"] == "critical"
    }
    assert paging == {
        ("TrunkCapacityExporterDown", "1h"),
        ("TrunkCapacityExporterJobAbsent", "1h"),
        ("TrunkCapacityServiceProviderSaturated", "1m"),
        ("TrunkCapacityChainNearCarrierLimit", "1m"),
        ("TrunkCapacityBalanceExhaustionForecast", "1h"),
    }
    health = {rule["alert"]: rule for rule in alerts() if rule["labels"]["severity"] == "warning"}
    for name in ("TrunkCapacityExporterDown", "TrunkCapacityExporterJobAbsent"):
        assert parse_duration(health[name]["for"]) >= 600, name
    for name in ("TrunkCapacityExporterTargetDown", "TrunkCapacityExporterTargetAbsent"):
        assert severities()[name] == {"warning"}, name
    assert severities()["TrunkCapacityTrunkGroupSaturated"] == {"warning", "info"}
    docs = ALERTING_DOCS.read_text()
    assert "## Paging policy" in docs and "severities" in docs


def test_target_absent_is_per_job_and_target_whatever_the_instance():
    (rule,) = [r for r in alerts() if r["alert"] == "TrunkCapacityExporterTargetAbsent"]
    assert rule["expr"].count("max without (instance, pod") == 2
    assert rule["expr"].count("unless ignoring (instance, pod") == 2


def test_forecasts_need_a_day_of_trend_an_absolute_reason_and_a_long_for():
    forecasts = [r for r in alerts() if r["alert"].endswith("ExhaustionForecast")]
    assert len(forecasts) == 3
    for rule in forecasts:
        assert re.search(r"deriv\([a-z_]+\{[^}]*\}\[1d\]\)", rule["expr"]), rule["expr"]
        assert parse_duration(rule["for"]) >= 3600
    pool, *balance = sorted(forecasts, key=lambda r: r["alert"], reverse=True)
    assert "< 0.25 * didww_capacity_pool_total_channels" in pool["expr"]
    assert all(BALANCE_THRESHOLD in rule["expr"] for rule in balance)


def test_standing_provisioning_facts_are_info():
    by_name = severities()
    for name in (
        "TrunkCapacityServiceProviderOversubscribed",
        "TrunkCapacityGroupAllocationAboveAvailable",
        "TrunkCapacityTrunkGroupLicencesExhausted",
        "TrunkCapacityPoolUnassignedBelowOrderMinimum",
        "TrunkCapacityPoolRenewalDue",
    ):
        assert by_name[name] == {"info"}, name


def test_live_capacity_alerts_keep_firing_through_an_outage():
    keep = {rule["alert"] for rule in alerts() if rule.get("keep_firing_for")}
    assert keep == KEEP_FIRING_ALERTS


def test_never_silent_alerts_exist():
    exprs = {rule["alert"]: rule["expr"] for rule in alerts()}
    assert re.search(r"\bup\{[^}]*job", exprs["TrunkCapacityExporterDown"])
    assert "absent(up{job=" in exprs["TrunkCapacityExporterJobAbsent"]
    assert "max_over_time(odin_up" in exprs["TrunkCapacityExporterTargetAbsent"]
    assert (
        "time() - trunk_capacity_exporter_last_success_timestamp_seconds"
        in (exprs["TrunkCapacityDataStale"])
    )


def test_every_runbook_section_belongs_to_an_alert():
    names = {rule["alert"] for rule in alerts()}
    sections = set(re.findall(r"^#+ (TrunkCapacity\w+)$", RUNBOOKS.read_text(), re.M))
    assert sections == names


def test_recording_rules_are_named_level_metric_operation():
    records = [rule["record"] for rule in rules_of(RECORDING_RULES) if "record" in rule]
    assert len(records) >= 8
    bad = [r for r in records if not re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z_]+", r)]
    assert not bad, bad
    assert len(records) == len(set(records)), "a series is recorded twice"
    # Every series the alerts build on is recorded here.
    used = set(re.findall(r"\b[a-z_]+:[a-z_]+:[a-z_]+\b", ALERT_RULES.read_text()))
    assert used <= set(records), used - set(records)


def test_the_balance_threshold_is_set_in_one_place():
    recorded = [
        rule for rule in rules_of(RECORDING_RULES) if rule.get("record") == BALANCE_THRESHOLD
    ]
    assert len(recorded) == 1
    # The default from the mixin's _config, per account (overrides would add label_replace).
    assert recorded[0]["expr"].strip().endswith("+ 50")
    (balance_low,) = [rule for rule in alerts() if rule["alert"] == "TrunkCapacityBalanceLow"]
    assert BALANCE_THRESHOLD in balance_low["expr"]
    # No number in the alert expression: the threshold comes from the recording rule only.
    assert not re.search(r"\d", balance_low["expr"].replace(BALANCE_THRESHOLD, ""))
    docs = ALERTING_DOCS.read_text()
    assert "balanceLowThreshold" in docs, "docs must say where to change the threshold"


def test_every_alert_is_listed_in_the_docs():
    docs = ALERTING_DOCS.read_text()
    missing = sorted({r["alert"] for r in alerts() if f"`{r['alert']}`" not in docs})
    assert not missing, f"alerts missing from docs/alerting.md: {missing}"
