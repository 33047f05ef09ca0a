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
EXPECTED_UIDS = {"tce-overview", "tce-trunk-groups", "tce-didww", "tce-exporter", "tce-planning"}
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


def test_the_dashboards_with_unique_stable_uids():
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
    # `$1` is a label_replace group, not a variable.
    used = set(re.findall(r"\$\{?([A-Za-z_]\w*)", text))
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
            "trunk_capacity_exporter_data_kind_age_seconds",
            "process_resident_memory_bytes",
            'reason="rate_limited"',
        ],
        "tce-planning": [
            "target_service_provider_group_trunk_group:odin_trunk_group_active_calls:hourly_avg",
            "target_service_provider_group_trunk_group:odin_trunk_group_active_calls:hourly_max",
            "target_service_provider:odin_trunk_group_active_calls:hourly_avg",
            "target_pool:trunk_capacity_link_incoming_calls:hourly_avg",
            "effective_max_active_calls:sum",
            "didww_capacity_pool_total_channels",
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


def test_headroom_tables_list_the_fullest_first():
    """By utilisation, not by free calls (which would put the smallest customers first)."""
    titles = {
        "tce-overview": ["Service provider headroom", "Group headroom"],
        "tce-trunk-groups": ["Trunk group headroom"],
    }
    for uid, names in titles.items():
        for title in names:
            panel = panel_titled(by_uid(uid), title)
            (headroom,) = [t for t in panel["targets"] if t["refId"] == "A"]
            assert "effective_max_active_calls" in headroom["expr"]
            (peak,) = [t for t in panel["targets"] if t["refId"] == "C"]
            assert "peak_utilisation:ratio" in peak["expr"]
            assert panel["options"]["sortBy"] == [{"displayName": "Peak (window)", "desc": True}]


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
    (alerts,) = [e for e in exprs_of(by_uid("tce-overview")) if "ALERTS{" in e]
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


# ---- issue 22: dashboards that lead, and the planning view -------------------------------------

RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
MIXIN_CONFIG = ROOT / "deploy" / "mixin" / "config.libsonnet"
METRICS_DOC = ROOT / "docs" / "metrics.md"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
# Series Prometheus makes itself, and the process metrics of prometheus_client.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_timeout_seconds", "ALERTS"}
# A legend naming an object must name what it belongs to: names repeat across accounts and SPs.
OWNER_OF = {
    "trunk_group": "service_provider",
    "group": "service_provider",
    "pool": "target",
    "voice_out_trunk": "target",
    "voice_in_trunk": "target",
}
PROMQL_WORDS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right|bool|and|or|unless|offset|Inf|NaN)\b"
)


def config_value(name: str) -> float:
    match = re.search(rf"^\s*{name}: ([\d.* ]+),", MIXIN_CONFIG.read_text(), re.M)
    assert match, name
    value: float = eval(match.group(1))  # a literal product such as 256 * 1024 * 1024
    return value


def recorded_series() -> set[str]:
    rules = yaml.safe_load((RULES_DIR / "trunk-capacity-recording.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"]}


def documented_metrics() -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", METRICS_DOC.read_text()))


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: names before `{` or `[`, or bare recorded names."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values and regexes are not names
    names = set(re.findall(r"\b([A-Za-z_:][\w:]*)\s*(?=\{|\[)", expr))
    names |= set(re.findall(r"\b([a-z_]+:[a-z_]+:[a-z_]+)\b", expr))
    return {n for n in names if not PROMQL_WORDS.fullmatch(n) and not n.startswith("$")}


def test_every_panel_query_selects_series_that_exist(dashboard):
    recorded, documented = recorded_series(), documented_metrics()
    unknown = []
    for expr in exprs_of(dashboard):
        for name in metric_names(expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            known = (
                name in recorded
                or name in PROMETHEUS_OWN
                or base in documented
                or name in documented
            )
            if not known:
                unknown.append(f"{name} in {expr}")
    assert not unknown, "\n".join(unknown)


def test_the_check_of_series_names_bites():
    assert metric_names('max_over_time(a:b:c{x="y:z:w"}[1d]) / on (t) b_total{j="k"}') == {
        "a:b:c",
        "b_total",
    }


def legends(dashboard: dict) -> list[str]:
    return [
        t["legendFormat"]
        for p in data_panels(dashboard)
        for t in p.get("targets", [])
        if t.get("legendFormat", "__auto") != "__auto"
    ]


def test_legends_name_the_account_or_service_provider(dashboard):
    ambiguous = [
        legend
        for legend in legends(dashboard)
        for label, owner in OWNER_OF.items()
        if f"{{{{{label}}}}}" in legend and f"{{{{{owner}}}}}" not in legend
    ]
    assert not ambiguous, ambiguous


def thresholds_of(panel: dict) -> list[float | None]:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    return [s["value"] for s in steps]


def colours_of(panel: dict) -> list[str]:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    return [s["color"] for s in steps]


def test_utilisation_panels_use_the_effective_limit_and_the_configured_warning():
    warning = config_value("saturationWarningRatio")
    dash = by_uid("tce-trunk-groups")
    for title in (
        "Utilisation of the effective limit by trunk group",
        "Top $topn busiest trunk groups",
    ):
        panel = panel_titled(dash, title)
        (expr,) = [t["expr"] for t in panel["targets"]]
        assert "effective_max_active_calls" in expr and "utilisation:ratio" not in expr
        assert thresholds_of(panel) == [None, warning, 1]
    for panel in data_panels(dash):
        # No hard-coded 0.8 / 0.95 (the old fractions of maxActiveCalls) is left.
        assert 0.95 not in thresholds_of(panel), panel["title"]


def test_days_left_panels_are_red_when_few():
    balance = panel_titled(by_uid("tce-didww"), "Days of balance left")
    assert colours_of(balance) == ["red", "orange", "green"]
    assert thresholds_of(balance) == [
        None,
        config_value("balanceForecastWarningDays"),
        config_value("balanceDaysGreen"),
    ]
    pools = panel_titled(by_uid("tce-didww"), "Days until unassigned channels run out")
    assert colours_of(pools)[0] == "red" and colours_of(pools)[-1] == "green"


def test_time_at_the_limit_turns_red_early():
    red = config_value("timeAtLimitRedRatio")
    assert red <= 0.05
    for uid, title in (
        ("tce-overview", "Time at the cap (service providers)"),
        ("tce-trunk-groups", "Time at the limit (trunk groups)"),
    ):
        panel = panel_titled(by_uid(uid), title)
        assert colours_of(panel) == ["green", "orange", "red"]
        (_, orange, at) = thresholds_of(panel)
        assert orange is not None and 0 < orange < at == red


def test_the_overview_opens_with_what_is_at_or_near_the_limit():
    overview = by_uid("tce-overview")
    top = sorted(panels_of(overview), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    assert top[0]["type"] == "row" and top[0]["title"] == "At or near the limit now"
    first = [p for p in top[1:] if p["gridPos"]["y"] == top[1]["gridPos"]["y"]]
    assert {p["title"] for p in first} == {
        "Service providers at or near the limit",
        "Trunk groups at or near the limit",
    }
    for panel in first:
        (ratio,) = [t for t in panel["targets"] if t["refId"] == "A"]
        assert "peak_utilisation:ratio" in ratio["expr"]
        (sort,) = panel["options"]["sortBy"]
        assert sort["desc"] is True and sort["displayName"].startswith("Peak / effective")
        state = " ".join(t["expr"] for t in panel["targets"])
        # The state compares with the recorded per-SP threshold the alerts use.
        assert "target_service_provider:odin_utilisation_warning:threshold" in state


def links_of(dashboard: dict) -> list[tuple[str, dict]]:
    found = []
    for panel in data_panels(dashboard):
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "links":
                    found += [(panel["title"], link) for link in prop["value"]]
    return found


def test_data_links_lead_to_existing_dashboards_and_variables():
    dashboards = {load(p)["uid"]: load(p) for p in DASHBOARDS}
    checked = 0
    for dash in dashboards.values():
        for title, link in links_of(dash):
            match = re.match(r"/d/([\w-]+)\?", link["url"])
            if not match:
                continue  # the runbook links
            target = dashboards.get(match.group(1))
            assert target, f"{title}: {link['url']} names no dashboard"
            names = {v["name"] for v in variables(target)}
            asked = set(re.findall(r"var-(\w+)=", link["url"]))
            asked |= set(re.findall(r"\$\{(\w+):queryparam\}", link["url"]))
            assert asked <= names, f"{title}: {asked - names} not variables of {target['uid']}"
            assert "${__url_time_range}" in link["url"]
            checked += 1
    overview_links = {link["url"].split("?")[0] for _t, link in links_of(by_uid("tce-overview"))}
    assert {"/d/tce-trunk-groups", "/d/tce-didww"} <= overview_links
    planning = [link["url"] for _t, link in links_of(by_uid("tce-planning"))]
    assert any("/d/tce-didww?" in u and "var-pool=" in u for u in planning)
    assert checked >= 6


def test_firing_alerts_are_annotations(dashboard):
    (alerts,) = [a for a in dashboard["annotations"]["list"] if "expr" in a]
    assert alerts["expr"].startswith("ALERTS{") and 'alertstate="firing"' in alerts["expr"]
    assert alerts["datasource"]["uid"] == DS_REF and alerts["enable"]


def github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_alerts_table_links_every_alert_to_its_runbook():
    panel = panel_titled(by_uid("tce-overview"), "TrunkCapacity alerts")
    (override,) = [
        o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "runbook"
    ]
    props = {p["id"]: p["value"] for p in override["properties"]}
    anchors_by_alert = {name: m["text"] for name, m in props["mappings"][0]["options"].items()}
    rules = yaml.safe_load((RULES_DIR / "trunk-capacity-alerts.yml").read_text())
    alert_names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert set(anchors_by_alert) == alert_names
    headings = re.findall(r"^#{1,6} (.+)$", RUNBOOKS.read_text(), re.M)
    anchors = {github_anchor(h) for h in headings}
    assert set(anchors_by_alert.values()) <= anchors
    (link,) = props["links"]
    assert link["url"].endswith("docs/runbooks.md#${__value.text}")
    (target,) = panel["targets"]
    assert '"runbook", "$1", "alertname"' in target["expr"]


def test_collection_time_is_compared_with_the_documented_scrape_timeout():
    readme = (ROOT / "README.md").read_text()
    documented = {float(s) for s in re.findall(r"scrape_timeout: (\d+)s", readme)}
    exporter = by_uid("tce-exporter")
    (timeout,) = [v for v in variables(exporter) if v["name"] == "scrape_timeout"]
    assert float(timeout["current"]["value"]) in documented
    assert float(timeout["current"]["value"]) == config_value("scrapeTimeoutSeconds")


def test_the_exporter_dashboard_shows_memory_against_the_container_limit():
    exporter = by_uid("tce-exporter")
    panel = panel_titled(exporter, "Memory against the container limit")
    (expr,) = [t["expr"] for t in panel["targets"]]
    assert expr.startswith("process_resident_memory_bytes") and expr.endswith("/ $memory_limit")
    (limit,) = [v for v in variables(exporter) if v["name"] == "memory_limit"]
    deployment = (ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml").read_text()
    (mebibytes,) = re.findall(r"limits:\s*(?:\n\s+\w+: \S+)*?\n\s+memory: (\d+)Mi", deployment)
    assert int(limit["current"]["value"]) == int(mebibytes) * 1024 * 1024


def test_the_planning_dashboard_spans_weeks_against_the_effective_limits():
    planning = by_uid("tce-planning")
    assert planning["time"]["from"] == "now-30d"
    busy = [p for p in data_panels(planning) if p["title"].startswith("Daily busy hour")]
    assert len(busy) == 3
    for panel in busy:
        assert panel["interval"] == "1d"
        exprs = " ".join(t["expr"] for t in panel["targets"])
        assert ":hourly_avg" in exprs and ":hourly_max" in exprs and "[1d])" in exprs
    week = " ".join(
        t["expr"]
        for p in data_panels(planning)
        if "busiest hour this week" in p["title"]
        for t in p["targets"]
    )
    assert "[7d])" in week and "deriv(" in week
    assert "effective_max_active_calls:sum" in week and "didww_capacity_pool_total_channels" in week
