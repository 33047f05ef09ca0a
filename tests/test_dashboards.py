"""Lint of the Grafana dashboards and provisioning files (no Grafana needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
PROVISIONING = ROOT / "grafana" / "provisioning"
DS_REF = "${datasource}"
EXPECTED_UIDS = {"tce-overview", "tce-trunk-groups", "tce-didww", "tce-exporter"}
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}
# Limits that Odin may report as unlimited: a panel showing them must map +Inf to "Unlimited".
LIMIT_METRIC = re.compile(
    r"\bodin_\w*max_\w*calls\b|\bodin_group_trunk_group_service_quantity\b|\bodin_group_user_limit\b"
)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def panels_of(dashboard: dict) -> list[dict]:
    """Every panel, rows and panels nested in collapsed rows included."""
    out = []

    def walk(panels):
        for panel in panels:
            out.append(panel)
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return out


def data_panels(dashboard: dict) -> list[dict]:
    return [p for p in panels_of(dashboard) if p.get("type") != "row"]


def variables(dashboard: dict) -> list[dict]:
    return dashboard.get("templating", {}).get("list", [])


@pytest.fixture(params=DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def dashboard(request) -> dict:
    return load(request.param)


def test_the_four_dashboards_with_unique_stable_uids():
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids)), f"duplicate uids: {uids}"
    assert set(uids) == EXPECTED_UIDS


def test_valid_json_with_title_and_schema(dashboard):
    assert dashboard["title"].strip()
    assert dashboard["schemaVersion"] >= 36
    assert "trunk-capacity" in dashboard.get("tags", [])


def test_no_import_only_inputs(dashboard):
    assert "__inputs" not in dashboard
    assert "__requires" not in dashboard


def test_datasource_variable(dashboard):
    ds = [v for v in variables(dashboard) if v["type"] == "datasource"]
    assert len(ds) == 1, "exactly one datasource variable"
    assert ds[0]["name"] == "datasource"
    assert ds[0]["query"] == "prometheus"


def test_every_panel_and_target_uses_the_datasource_variable(dashboard):
    problems = []
    for panel in data_panels(dashboard):
        if panel.get("datasource", {}).get("uid") != DS_REF:
            problems.append(f"panel {panel.get('title')!r}: datasource {panel.get('datasource')}")
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") != DS_REF:
                problems.append(f"panel {panel.get('title')!r} target {target.get('refId')}")
    for var in variables(dashboard):
        if var["type"] == "query" and var.get("datasource", {}).get("uid") != DS_REF:
            problems.append(f"variable {var['name']}: datasource {var.get('datasource')}")
    assert not problems, "\n".join(problems)


def test_no_hard_coded_datasource_uid(dashboard):
    """Anywhere in the JSON, a datasource is the variable (or Grafana's own annotations)."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                hard_coded = isinstance(value, str) or (
                    isinstance(value, dict) and value.get("uid") not in (DS_REF, "-- Grafana --")
                )
                if key == "datasource" and hard_coded:
                    found.append(f"{path}.datasource = {value!r}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(dashboard, "$")
    assert not found, "\n".join(found)


def test_every_panel_has_a_title_and_a_query(dashboard):
    problems = []
    for panel in data_panels(dashboard):
        if not str(panel.get("title", "")).strip():
            problems.append(f"panel id {panel.get('id')} has no title")
        targets = panel.get("targets", [])
        if not targets or not all(str(t.get("expr", "")).strip() for t in targets):
            problems.append(f"panel {panel.get('title')!r} has no query or an empty one")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)):
            problems.append(f"panel {panel.get('title')!r} repeats a refId")
    assert not problems, "\n".join(problems)


def test_panel_ids_unique_and_no_overlap(dashboard):
    panels = panels_of(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    boxes = [(p["title"], p["gridPos"]) for p in panels]
    for i, (a_title, a) in enumerate(boxes):
        assert a["x"] + a["w"] <= 24, f"{a_title} is wider than the grid"
        for b_title, b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, f"panels {a_title!r} and {b_title!r} overlap"


def test_query_variables_come_from_label_values(dashboard):
    query_vars = [v for v in variables(dashboard) if v["type"] == "query"]
    assert query_vars, "no label_values() filter variable"
    for var in query_vars:
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        assert re.fullmatch(r"label_values\(.+,\s*\w+\)", query, re.S), (var["name"], query)
        assert var.get("multi") and var.get("includeAll"), f"{var['name']}: multi + All"
        # `.*` also matches empty label values (groups without a pool) and new values.
        assert var.get("allValue") == ".*", var["name"]


def test_filter_variables_cover_the_label_dimensions():
    names = {
        load(p)["uid"]: {v["name"] for v in variables(load(p)) if v["type"] == "query"}
        for p in DASHBOARDS
    }
    assert {"target", "service_provider", "group"} <= names["tce-overview"]
    assert {"target", "service_provider", "group", "trunk_group"} <= names["tce-trunk-groups"]
    assert {"target", "pool"} <= names["tce-didww"]
    assert {"target"} <= names["tce-exporter"]


def test_variables_are_defined_and_used(dashboard):
    defined = {v["name"] for v in variables(dashboard)}
    text = json.dumps(
        [
            [t["expr"] for p in data_panels(dashboard) for t in p.get("targets", [])],
            [p.get("title", "") for p in data_panels(dashboard)],
            [v.get("query") for v in variables(dashboard)],
        ]
    )
    used = set(re.findall(r"\$\{?(\w+)", text))
    assert used - defined - BUILTIN_VARIABLES == set(), "undefined variables"
    assert defined - used - {"datasource"} == set(), "variables nothing uses"


def test_multi_value_variables_only_in_regex_matchers(dashboard):
    """A multi-value variable expands to `a|b`: an equality matcher would match nothing."""
    multi = {v["name"] for v in variables(dashboard) if v.get("multi")}
    bad = []
    for panel in data_panels(dashboard):
        for target in panel.get("targets", []):
            for name in re.findall(r'!?="\$\{?(\w+)', target["expr"]):
                if name in multi:
                    bad.append(f"{panel['title']}: {target['expr']}")
    assert not bad, "\n".join(bad)


def has_unlimited_mapping(panel: dict) -> bool:
    field_config = panel.get("fieldConfig", {})
    mapping_lists = [field_config.get("defaults", {}).get("mappings", [])]
    for override in field_config.get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "mappings":
                mapping_lists.append(prop["value"])
    for mappings in mapping_lists:
        for mapping in mappings:
            # Grafana looks values up by their string form: +Inf is "Infinity".
            result = mapping.get("options", {}).get("Infinity", {})
            if mapping.get("type") == "value" and result.get("text") == "Unlimited":
                return True
    return False


def test_limit_panels_show_unlimited(dashboard):
    limit_panels = [
        p
        for p in data_panels(dashboard)
        if any(LIMIT_METRIC.search(t["expr"]) for t in p.get("targets", []))
    ]
    missing = [p["title"] for p in limit_panels if not has_unlimited_mapping(p)]
    assert not missing, f"panels showing limits without an Unlimited value mapping: {missing}"


def test_limit_panels_exist():
    """The overview and trunk-group dashboards do show limits (so the check above bites)."""
    for path in DASHBOARDS:
        dash = load(path)
        if dash["uid"] in ("tce-overview", "tce-trunk-groups"):
            assert any(
                LIMIT_METRIC.search(t["expr"])
                for p in data_panels(dash)
                for t in p.get("targets", [])
            ), dash["uid"]


def test_required_panels_present():
    """The panels issue 5 asks for, by a metric or rule each must query."""
    required = {
        "tce-overview": [
            "odin_service_provider_max_active_calls",
            "target_service_provider:odin_group_max_active_calls:sum",
            "target_service_provider:odin_service_provider_oversubscription:ratio",
            "target_service_provider_group:odin_group_allocation:ratio",
            "odin_group_trunk_group_service_usage",
            "odin_group_trunk_group_service_quantity",
        ],
        "tce-trunk-groups": [
            "odin_trunk_group_active_calls",
            "odin_trunk_group_max_active_calls",
            "odin_trunk_group_bursting_max_active_calls",
            "target_service_provider_group_trunk_group:odin_trunk_group_utilisation:ratio",
            "topk(",
        ],
        "tce-didww": [
            "didww_capacity_pool_total_channels",
            "didww_capacity_pool_assigned_channels",
            "didww_capacity_pool_unassigned_channels",
            "target_pool:didww_capacity_pool_utilisation:ratio",
            "didww_shared_capacity_group_shared_channels",
            "didww_shared_capacity_group_metered_channels",
            "didww_capacity_pool_renewal_timestamp_seconds",
            "didww_capacity_pool_monthly_price",
            "didww_account_balance",
            "didww_account_credit",
        ],
        "tce-exporter": [
            "odin_up",
            "didww_up",
            "odin_service_provider_up",
            "trunk_capacity_exporter_collect_duration_seconds",
            "scrape_timeout_seconds",
            "trunk_capacity_exporter_upstream_requests_total",
            "trunk_capacity_exporter_upstream_request_duration_seconds_bucket",
            "trunk_capacity_exporter_collect_errors_total",
            "trunk_capacity_exporter_data_age_seconds",
            "trunk_capacity_exporter_config_last_reload_successful",
        ],
    }
    for path in DASHBOARDS:
        dash = load(path)
        exprs = " ".join(t["expr"] for p in data_panels(dash) for t in p.get("targets", []))
        missing = [m for m in required[dash["uid"]] if m not in exprs]
        assert not missing, f"{dash['uid']} lacks {missing}"
    heatmaps = [p for path in DASHBOARDS for p in data_panels(load(path)) if p["type"] == "heatmap"]
    assert heatmaps, "the trunk group dashboard has a utilisation heat map"


# ---- provisioning ---------------------------------------------------------------------------


def test_datasource_provisioning():
    files = list((PROVISIONING / "datasources").glob("*.yml"))
    assert len(files) == 1
    doc = yaml.safe_load(files[0].read_text())
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds["type"] == "prometheus"
    assert ds["uid"] == "prometheus"
    assert ds["url"] == "http://prometheus:9090"


def test_dashboard_provisioning_points_at_the_dashboards():
    files = list((PROVISIONING / "dashboards").glob("*.yml"))
    assert len(files) == 1
    doc = yaml.safe_load(files[0].read_text())
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    # The compose demo mounts grafana/dashboards there; nothing but dashboards in it.
    assert {p.suffix for p in DASHBOARD_DIR.iterdir()} == {".json"}


# ---- issue 11: job/target everywhere, peaks, headroom, money, forecasts, the chain --------------

MONEY_METRIC = re.compile(r"didww_account_balance\b|didww_account_credit|_price\b|_amount\b")


def exprs_of(dashboard: dict) -> list[str]:
    return [t["expr"] for p in data_panels(dashboard) for t in p.get("targets", [])]


def panel_titled(dashboard: dict, title: str) -> dict:
    (panel,) = [p for p in data_panels(dashboard) if p["title"] == title]
    return panel


def by_uid(uid: str) -> dict:
    (dashboard,) = [load(p) for p in DASHBOARDS if load(p)["uid"] == uid]
    return dashboard


def test_every_dashboard_has_job_and_target_variables(dashboard):
    names = [v["name"] for v in variables(dashboard)]
    assert names[:3] == ["datasource", "job", "target"]
    job = variables(dashboard)[1]
    # The job variable offers the mixin's jobs only (_config.jobSelector).
    assert "job=~" in (job["query"]["query"] if isinstance(job["query"], dict) else job["query"])


def test_every_query_selects_the_job(dashboard):
    missing = [e for e in exprs_of(dashboard) if 'job=~"$job"' not in e]
    assert not missing, missing


def test_live_calls_show_peaks_and_time_at_the_limit():
    for uid in ("tce-overview", "tce-trunk-groups"):
        exprs = " ".join(exprs_of(by_uid(uid)))
        # $__rate_interval: at least four scrape intervals, so short ranges have no gaps.
        assert "max_over_time(" in exprs and "[$__rate_interval])" in exprs, uid
        # Share of the range at the effective limit: a 0/1 series averaged over the range.
        assert re.search(r"avg_over_time\(\(.+ >= bool .+effective.+\)\[\$__range:\]\)", exprs)


def test_headroom_tables_list_the_smallest_first():
    titles = {
        "tce-overview": ["Service provider headroom", "Group headroom"],
        "tce-trunk-groups": ["Trunk group headroom"],
    }
    for uid, names in titles.items():
        for title in names:
            panel = panel_titled(by_uid(uid), title)
            (headroom,) = [t for t in panel["targets"] if t["refId"] == "A"]
            assert (
                headroom["expr"].startswith("sort(")
                and "effective_max_active_calls" in (headroom["expr"])
            )
            assert panel["options"]["sortBy"] == [{"displayName": "Headroom", "desc": False}]


def units(panel: dict) -> set[str]:
    field_config = panel.get("fieldConfig", {})
    found = {field_config.get("defaults", {}).get("unit")}
    for override in field_config.get("overrides", []):
        found |= {p["value"] for p in override["properties"] if p["id"] == "unit"}
    return found - {None}


def test_money_has_a_currency_unit():
    didww = by_uid("tce-didww")
    money_panels = [
        p
        for p in data_panels(didww)
        if any(MONEY_METRIC.search(t["expr"]) for t in p.get("targets", []))
        and not p["title"].startswith("Days")
    ]
    assert len(money_panels) >= 6
    missing = [
        p["title"] for p in money_panels if not any(u.startswith("currency") for u in units(p))
    ]
    assert not missing, f"money without a currency unit: {missing}"


def test_the_alerts_table_is_filtered_like_the_dashboard():
    (alerts,) = [e for e in exprs_of(by_uid("tce-overview")) if e.startswith("ALERTS")]
    for variable in ("job", "target", "service_provider", "group"):
        assert f'{variable}=~"${variable}"' in alerts


def test_forecast_panels():
    exprs = " ".join(exprs_of(by_uid("tce-didww")))
    assert "predict_linear(didww_account_balance" in exprs
    assert "predict_linear(didww_capacity_pool_unassigned_channels" in exprs
    assert "target:didww_account_balance_exhaustion:days" in exprs
    assert "target_pool:didww_capacity_pool_exhaustion:days" in exprs


def test_capacity_chain_and_voice_trunk_panels():
    chain = panel_titled(by_uid("tce-overview"), "Capacity chain")
    chain_exprs = " ".join(t["expr"] for t in chain["targets"])
    for series in (
        "link:didww_shared_capacity_group_channels:sum",
        "link:didww_voice_in_trunk_capacity_limit:max",
        "link:trunk_capacity_link_broadworks_limit:min",
        "link:trunk_capacity_link_incoming_calls:sum",
    ):
        assert series in chain_exprs
    didww = " ".join(exprs_of(by_uid("tce-didww")))
    for metric in (
        "didww_voice_in_trunk_capacity_limit",
        "didww_voice_in_trunk_group_capacity_limit",
        "didww_voice_out_trunk_spent_amount",
        "didww_voice_out_trunk_threshold_amount",
    ):
        assert metric in didww
