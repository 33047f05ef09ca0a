"""The shipped Alertmanager inhibit rules, in a real Alertmanager, against the shipped alerts.

Posts alerts labelled as the rules label them to Debian's prometheus-alertmanager (0.25) on
loopback and reads back which ones are inhibited.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml

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


def binary() -> str:
    path = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if path is None:
        pytest.skip("alertmanager not found: install Debian's prometheus-alertmanager package")
    return path


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory, module_processes: Processes) -> str:
    work = tmp_path_factory.mktemp("alertmanager")
    server = module_processes.start(
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
    """(alertname, severity, trunk_group or target) -> inhibited, once every alert of `sent`
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
            a["labels"].get("trunk_group") or a["labels"].get("target", ""),
        ): bool(a["status"]["inhibitedBy"])
        for a in got
    }


def test_the_shipped_config_passes_amtool(processes: Processes, amtool: str):
    result = processes.run([amtool, "check-config", str(CONFIG)], timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(yaml.safe_load(CONFIG.read_text())["inhibit_rules"]) == 3


def test_critical_silences_its_warning_twin_only(alertmanager):
    twins = sorted(
        {r["alert"] for r in alerts() if r["labels"]["severity"] == "critical"}
        & {r["alert"] for r in alerts() if r["labels"]["severity"] == "warning"}
    )
    assert "TrunkCapacityTrunkGroupSaturated" in twins
    sent = []
    for name in twins:
        sent.append({"alertname": name, "severity": "critical", **TRUNK_GROUP})
        sent.append({"alertname": name, "severity": "warning", **TRUNK_GROUP})
        # The same warning about another trunk group stays.
        sent.append(
            {"alertname": name, "severity": "warning", **TRUNK_GROUP, "trunk_group": "other"}
        )
    post(alertmanager, sent)
    state = inhibited(alertmanager, sent)
    for name in twins:
        assert state[(name, "warning", "acme-hq-pbx")] is True, name
        assert state[(name, "critical", "acme-hq-pbx")] is False, name
        assert state[(name, "warning", "other")] is False, name


def test_a_failed_scrape_silences_what_it_explains_but_not_the_capacity_page(alertmanager):
    down = {"alertname": "TrunkCapacityExporterDown", "severity": "critical", **JOB}
    absent = {
        "alertname": "TrunkCapacityExporterTargetAbsent",
        "severity": "critical",
        **JOB,
        "target": "odin-eu",
    }
    elsewhere = {**absent, "instance": "other-exporter:10042", "target": "odin-us"}
    page = {"alertname": "TrunkCapacityServiceProviderSaturated", "severity": "critical"}
    page |= {**JOB, "target": "odin-eu", "service_provider": "ent.acme"}
    post(alertmanager, [down, absent, elsewhere, page])
    state = inhibited(alertmanager, [down, absent, elsewhere, page])
    assert state[("TrunkCapacityExporterTargetAbsent", "critical", "odin-eu")] is True
    assert state[("TrunkCapacityExporterTargetAbsent", "critical", "odin-us")] is False
    assert state[("TrunkCapacityExporterDown", "critical", "")] is False
    # keep_firing_for carries the page through the outage: nothing may silence it.
    assert state[("TrunkCapacityServiceProviderSaturated", "critical", "odin-eu")] is False
