"""The shipped Alertmanager routing and inhibit rules against the shipped alerts.

Routing through `amtool config routes test`; inhibition by posting alerts labelled as the rules
label them to Debian's prometheus-alertmanager (0.25) on loopback and reading back which ones
are inhibited.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import alerts, wait_until
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "compose" / "alertmanager.yml"
JOB = {"job": "trunk-capacity-exporter", "instance": "exporter:10042"}
TRUNK_GROUP = {
    **JOB,
    "target": "odin",
    "service_provider": "ent.acme",
    "group": "acme.hq",
    "trunk_group": "acme-hq-pbx",
}


# What an alert is about, most specific first.
OBJECT_LABELS = ("trunk_group", "group", "service_provider", "target")


def binary() -> str:
    path = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if path is None:
        pytest.skip("alertmanager not found: install Debian's prometheus-alertmanager package")
    return path


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory, module_processes: Processes) -> str:
    return start_alertmanager(module_processes, tmp_path_factory.mktemp("alertmanager"))


@pytest.fixture
def own_alertmanager(tmp_path, processes: Processes) -> str:
    """An Alertmanager of the test's own, for an alert that would silence the other tests'."""
    return start_alertmanager(processes, tmp_path)


def start_alertmanager(processes: Processes, work: Path) -> str:
    server = processes.start(
        [
            binary(),
            f"--config.file={CONFIG}",
            f"--storage.path={work / 'data'}",
            "--web.listen-address=127.0.0.1:0",
            "--cluster.listen-address=",
        ],
        cwd=work,
    )
    base = server.url()  # it binds port 0 and logs where it listens
    server.wait_until_ok(f"{base}/-/ready")
    return base


def post(base: str, alerts_: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts_]).encode()
    request = urllib.request.Request(
        f"{base}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def inhibited(base: str, sent: list[dict[str, str]]) -> dict[tuple[str, str, str], bool]:
    """(alertname, severity, most specific object label) -> inhibited, once every alert of `sent`
    is in (alerts an earlier test posted may be there too)."""

    def received() -> list[dict] | None:
        with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=5) as response:
            got = json.load(response)
        labels = [a["labels"] for a in got]
        return got if all(any(s.items() <= g.items() for g in labels) for s in sent) else None

    got = wait_until(received, 10, "Alertmanager to hold every alert sent", interval=0.1)
    return {
        (
            a["labels"]["alertname"],
            a["labels"].get("severity", ""),
            next((a["labels"][k] for k in OBJECT_LABELS if a["labels"].get(k)), ""),
        ): bool(a["status"]["inhibitedBy"])
        for a in got
    }


def test_the_shipped_config_passes_amtool(processes: Processes, amtool: str):
    result = processes.run([amtool, "check-config", str(CONFIG)], timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 receivers" in result.stdout, result.stdout


def route(processes: Processes, amtool: str, labels: dict[str, str], receiver: str) -> bool:
    """`amtool config routes test`: do these labels reach exactly `receiver`?"""
    result = processes.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            f"--verify.receivers={receiver}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        timeout=30,
    )
    return result.returncode == 0


def test_only_critical_pages_everything_else_is_a_ticket(processes: Processes, amtool: str):
    rules = {(r["alert"], r["labels"]["severity"]) for r in alerts()}
    assert {severity for _, severity in rules} == {"critical", "warning", "info"}
    wrong = [
        (name, severity)
        for name, severity in sorted(rules)
        if not route(
            processes,
            amtool,
            {"alertname": name, "severity": severity, **TRUNK_GROUP},
            "page" if severity == "critical" else "ticket",
        )
    ]
    assert not wrong, f"routed elsewhere than the paging policy says: {wrong}"
    # Guard against a vacuous check: amtool does refuse a wrong receiver.
    labels = {"alertname": "TrunkCapacityServiceProviderSaturated", "severity": "critical"}
    assert not route(processes, amtool, labels, "ticket")


SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def test_a_higher_severity_silences_its_lower_twin_only(alertmanager):
    by_name: dict[str, list[str]] = {}
    for rule in alerts():
        by_name.setdefault(rule["alert"], []).append(rule["labels"]["severity"])
    twins = {n: sorted(s, key=SEVERITY_RANK.__getitem__) for n, s in by_name.items() if len(s) > 1}
    assert "TrunkCapacityTrunkGroupSaturated" in twins
    sent = []
    for name, (high, low) in twins.items():
        # A job and target per name: the hierarchy and job rules stay out of this test.
        labels = {**TRUNK_GROUP, "job": f"job-{name}", "target": f"target-{name}"}
        sent.append({"alertname": name, "severity": high, **labels})
        sent.append({"alertname": name, "severity": low, **labels})
        # The same lower alert about another trunk group stays.
        sent.append({"alertname": name, "severity": low, **labels, "trunk_group": "other"})
    post(alertmanager, sent)
    state = inhibited(alertmanager, sent)
    for name, (high, low) in twins.items():
        assert state[(name, low, "acme-hq-pbx")] is True, name
        assert state[(name, high, "acme-hq-pbx")] is False, name
        assert state[(name, low, "other")] is False, name


def saturated(level: str, severity: str, **labels: str) -> dict[str, str]:
    alert = {"alertname": f"TrunkCapacity{level}Saturated", "severity": severity}
    return alert | {**JOB, "target": "odin-h", "service_provider": "ent.busy"} | labels


def test_saturation_is_inhibited_down_the_hierarchy_at_the_same_or_lower_severity(alertmanager):
    """SP -> group -> trunk group -> direction: one busy hour is one page, and a near-limit
    upper level never hides calls refused below it."""
    group = {"group": "busy.hq"}
    trunk_group = group | {"trunk_group": "busy-pbx"}
    sp_page = saturated("ServiceProvider", "critical")
    group_ticket = saturated("Group", "warning", **group)
    tg_ticket = saturated("TrunkGroup", "warning", **trunk_group)
    direction = saturated("TrunkGroupDirection", "info", **trunk_group, direction="incoming")
    # Elsewhere: another service provider's group, refusing calls, with only a warning above it.
    calm_sp = saturated("ServiceProvider", "warning", service_provider="ent.calm")
    calm_group = saturated("Group", "critical", service_provider="ent.calm", group="calm.hq")
    calm_tg = saturated("TrunkGroup", "info", service_provider="ent.calm", group="calm.hq")
    calm_tg["trunk_group"] = "calm-pbx"
    sent = [sp_page, group_ticket, tg_ticket, direction, calm_sp, calm_group, calm_tg]
    post(alertmanager, sent)
    state = inhibited(alertmanager, sent)
    assert state[("TrunkCapacityServiceProviderSaturated", "critical", "ent.busy")] is False
    assert state[("TrunkCapacityGroupSaturated", "warning", "busy.hq")] is True
    assert state[("TrunkCapacityTrunkGroupSaturated", "warning", "busy-pbx")] is True
    assert state[("TrunkCapacityTrunkGroupDirectionSaturated", "info", "busy-pbx")] is True
    assert state[("TrunkCapacityServiceProviderSaturated", "warning", "ent.calm")] is False
    # A warning above does not hide a group refusing calls; the group hides its trunk group.
    assert state[("TrunkCapacityGroupSaturated", "critical", "calm.hq")] is False
    assert state[("TrunkCapacityTrunkGroupSaturated", "info", "calm-pbx")] is True


def test_an_absent_job_silences_its_per_target_alerts(alertmanager):
    job = {"job": "trunk-capacity-probe"}
    absent_job = {"alertname": "TrunkCapacityExporterJobAbsent", "severity": "warning", **job}
    vanished = {"alertname": "TrunkCapacityExporterTargetAbsent", "severity": "warning"}
    vanished |= {**job, "target": "odin-probe"}
    elsewhere = vanished | {"job": "trunk-capacity-exporter", "target": "odin-kept"}
    stale = {"alertname": "TrunkCapacityDataStale", "severity": "warning", **job}
    stale |= {"instance": "odin-probe", "target": "odin-stale"}
    sent = [absent_job, vanished, elsewhere, stale]
    post(alertmanager, sent)
    state = inhibited(alertmanager, sent)
    assert state[("TrunkCapacityExporterTargetAbsent", "warning", "odin-probe")] is True
    assert state[("TrunkCapacityDataStale", "warning", "odin-stale")] is True
    assert state[("TrunkCapacityExporterTargetAbsent", "warning", "odin-kept")] is False
    assert state[("TrunkCapacityExporterJobAbsent", "warning", "")] is False


def test_no_job_of_the_selector_silences_every_per_target_alert(own_alertmanager):
    """The default JobAbsent, `absent(up{job=~...})`, has no `job` label: with nothing of the
    selector scraped, every target is absent, and that one alert explains them all."""
    absent = {"alertname": "TrunkCapacityExporterJobAbsent", "severity": "warning"}
    vanished = {"alertname": "TrunkCapacityExporterTargetAbsent", "severity": "warning"}
    vanished |= {"job": "trunk-capacity-exporter", "target": "odin-gone"}
    page = {"alertname": "TrunkCapacityServiceProviderSaturated", "severity": "critical"}
    page |= {"job": "trunk-capacity-exporter", "target": "odin-gone", "service_provider": "sp"}
    sent = [absent, vanished, page]
    post(own_alertmanager, sent)
    state = inhibited(own_alertmanager, sent)
    assert state[("TrunkCapacityExporterTargetAbsent", "warning", "odin-gone")] is True
    assert state[("TrunkCapacityServiceProviderSaturated", "critical", "sp")] is False
    assert state[("TrunkCapacityExporterJobAbsent", "warning", "")] is False


def test_a_failed_scrape_silences_what_it_explains_but_not_the_capacity_page(alertmanager):
    down = {"alertname": "TrunkCapacityExporterDown", "severity": "warning", **JOB}
    # TargetAbsent is per job and target, without an instance.
    absent = {"alertname": "TrunkCapacityExporterTargetAbsent", "severity": "warning"}
    absent |= {"job": JOB["job"], "target": "odin-eu"}
    elsewhere = absent | {"job": "trunk-capacity-exporter-us", "target": "odin-us"}
    target_down = {"alertname": "TrunkCapacityExporterTargetDown", "severity": "warning"}
    target_down |= {**JOB, "target": "odin-down"}
    page = {"alertname": "TrunkCapacityServiceProviderSaturated", "severity": "critical"}
    page |= {**JOB, "target": "odin-eu", "service_provider": "ent.acme"}
    sent = [down, absent, elsewhere, target_down, page]
    post(alertmanager, sent)
    state = inhibited(alertmanager, sent)
    # One failed scrape cannot vouch for a target that vanished: absence is never silenced.
    assert state[("TrunkCapacityExporterTargetAbsent", "warning", "odin-eu")] is False
    assert state[("TrunkCapacityExporterTargetAbsent", "warning", "odin-us")] is False
    assert state[("TrunkCapacityExporterTargetDown", "warning", "odin-down")] is True
    assert state[("TrunkCapacityExporterDown", "warning", "")] is False
    # keep_firing_for carries the page through the outage: nothing may silence it.
    assert state[("TrunkCapacityServiceProviderSaturated", "critical", "ent.acme")] is False
