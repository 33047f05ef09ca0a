"""Blind while up, no more (issue 21, item 7), against hostile fakes on loopback.

An Odin whose discovery lists nothing is up with no SP series: the count it listed is exported
(and alerted on, deploy/prometheus/tests/discovery.yml). Only Odin's own words for "no Trunk
Group service" read as that; any other JSON 400 is a failure. DIDWW pages whose announced
totals contradict what they hold are an `invalid_response`, not a small account.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric

from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.odin.config import OdinTarget
from tests.helpers import parsed_families, sample_value
from tests.hostile_fake import Answer, Handler, hostile_upstream, json_answer

REPORTS = "/api/v2/service-providers/trunk-groups/call-capacity/reports"
_EXP = base64.urlsafe_b64encode(json.dumps({"exp": 4102444800}).encode()).decode().rstrip("=")


def scrape(*targets: Any) -> dict[str, Metric]:
    exporter = Exporter(Config(targets=targets))
    try:
        return parsed_families(exporter.scrape(Deadline(10.0)).chunks(openmetrics=False))
    finally:
        exporter.close()


def odin_target(url: str) -> OdinTarget:
    return OdinTarget(
        name="odin",
        url=f"{url}/api/v2",
        username="u",
        password=Secret("pw"),
        discover=True,
        trunk_groups=False,
    )


def odin_routes(
    service_providers: list[str], report: Callable[[str], Answer]
) -> dict[tuple[str, str], Handler]:
    return {
        ("POST", "/api/v2/auth/token"): lambda _: json_answer(200, {"token": f"h.{_EXP}.s"}),
        ("GET", "/api/v2/service-providers"): lambda _: json_answer(
            200, [{"serviceProviderId": sp} for sp in service_providers]
        ),
        ("GET", REPORTS): lambda request: report(request.query["serviceProviderId"]),
    }


def good_report(sp: str) -> Answer:
    return json_answer(
        200,
        {
            "serviceProviderId": sp,
            "serviceProviderTrunkCapacity": {"maxActiveCalls": 10},
            "groups": [],
        },
    )


def errors(families: dict[str, Metric], target: str, reason: str) -> float | None:
    return sample_value(
        families, "trunk_capacity_exporter_collect_errors_total", target=target, reason=reason
    )


@pytest.mark.parametrize("listed", [[], ["sp.a", "sp.b", "sp.c"]])
def test_the_count_discovery_listed_is_exported_even_at_zero(listed: list[str]) -> None:
    with hostile_upstream(odin_routes(listed, good_report)) as upstream:
        families = scrape(odin_target(upstream.url))
    assert sample_value(families, "odin_up", target="odin") == 1
    found = sample_value(families, "odin_discovery_service_providers", target="odin")
    assert found == len(listed)
    assert "odin_service_provider_up" in families or not listed


def odin_400(details: str) -> Callable[[str], Answer]:
    def report(sp: str) -> Answer:
        if sp == "sp.good":
            return good_report(sp)
        return json_answer(400, {"error": "Bad Request", "status": 400, "details": details})

    return report


@pytest.mark.parametrize(
    ("details", "no_trunking"),
    [
        ("[Error 4500] Trunk Group service is not authorized for sp.x", True),
        ("Trunk Group service not authorized", True),
        ("Service temporarily unavailable", False),
        ("serviceProviderId is required", False),
    ],
)
def test_only_odins_own_words_read_as_no_trunk_group_service(
    details: str, no_trunking: bool
) -> None:
    with hostile_upstream(odin_routes(["sp.good", "sp.x"], odin_400(details))) as upstream:
        families = scrape(odin_target(upstream.url))
    x = {"target": "odin", "service_provider": "sp.x"}
    enabled = sample_value(families, "odin_service_provider_trunking_enabled", **x)
    up = sample_value(families, "odin_service_provider_up", **x)
    if no_trunking:
        assert (enabled, up) == (0, 1)
        assert not errors(families, "odin", "http_error")
    else:
        assert (enabled, up) == (None, 0)
        assert errors(families, "odin", "http_error") == 1
    assert sample_value(families, "odin_up", target="odin") == 1


def didww_routes(pools: dict[str, Any]) -> dict[tuple[str, str], Handler]:
    empty = {"data": [], "meta": {"total_records": 0}}
    routes: dict[tuple[str, str], Handler] = {
        ("GET", f"/v3/{path}"): lambda _: json_answer(200, empty)
        for path in ("shared_capacity_groups", "voice_in_trunks", "voice_in_trunk_groups")
    }
    routes[("GET", "/v3/voice_out_trunks")] = lambda _: json_answer(403, {"errors": []})
    routes[("GET", "/v3/balance")] = lambda _: json_answer(
        200, {"data": {"attributes": {"balance": "10.0"}}}
    )
    routes[("GET", "/v3/capacity_pools")] = lambda request: json_answer(200, pools)
    return routes


def pools_page(count: int, meta: dict[str, Any], links: dict[str, str]) -> dict[str, Any]:
    data = [
        {"id": f"p{n}", "type": "capacity_pools", "attributes": {"name": f"Pool {n}"}}
        for n in range(count)
    ]
    return {"data": data, "meta": meta, "links": links}


FIRST = "https://api.didww.com/v3/capacity_pools?page[number]=1&page[size]=100"
LAST_120 = "https://api.didww.com/v3/capacity_pools?page[number]=120&page[size]=100"


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (pools_page(100, {"total_records": 12000}, {"first": FIRST}), "announces 12000 records"),
        (pools_page(100, {}, {"first": FIRST, "last": LAST_120}), "announces 120 pages"),
        (pools_page(3, {"total_records": 3}, {"first": FIRST, "last": FIRST}), None),
    ],
    ids=["12,000 records announced, no next", "120 pages announced, no next", "consistent"],
)
def test_announced_totals_that_contradict_the_pages_are_an_invalid_response(
    page: dict[str, Any], problem: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with hostile_upstream(didww_routes(page)) as upstream:
        target = DidwwTarget(
            name="didww", url=f"{upstream.url}/v3", api_key=Secret("k-1"), rate_limit=0
        )
        with caplog.at_level(logging.WARNING):
            families = scrape(target)
    pools = families["didww_capacity_pool_info"].samples
    assert len(pools) == len(page["data"])  # what arrived is still exported
    if problem is None:
        assert sample_value(families, "didww_up", target="didww") == 1
        return
    assert sample_value(families, "didww_up", target="didww") == 0
    assert errors(families, "didww", "invalid_response") == 1
    assert any(problem in record.getMessage() for record in caplog.records)


def test_a_truncated_read_is_not_kept_for_the_refresh_interval() -> None:
    """A read whose pages contradict their announced total is read again on the next
    collection (pools refresh every 5m by default), not served as the last complete one."""
    truncated = pools_page(100, {"total_records": 12000}, {"first": FIRST})
    with hostile_upstream(didww_routes(truncated)) as upstream:
        target = DidwwTarget(
            name="didww", url=f"{upstream.url}/v3", api_key=Secret("k-1"), rate_limit=0
        )
        exporter = Exporter(Config(targets=(target,)))
        try:
            for _ in range(2):
                families = parsed_families(exporter.scrape(Deadline(10.0)).chunks(False))
                assert sample_value(families, "didww_up", target="didww") == 0
        finally:
            exporter.close()
        reads = [r for r in upstream.requests if r.path.endswith("/capacity_pools")]
    assert len(reads) == 2


def test_an_sp_id_over_the_label_bound_is_an_invalid_response_named_by_its_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 21, item 9: a 2 MB SP id became a 2 MB label, status page and log line."""
    huge = "sp." + "x" * 2_000_000
    routes = odin_routes([huge, "sp.good"], good_report)
    with hostile_upstream(routes) as upstream, caplog.at_level(logging.WARNING):
        families = scrape(odin_target(upstream.url))
    assert errors(families, "odin", "invalid_response") == 1
    sps = {s.labels["service_provider"] for s in families["odin_service_provider_up"].samples}
    assert sps == {"sp.good"}  # the rest is still collected
    assert sample_value(families, "odin_discovery_service_providers", target="odin") == 1
    lines = [r.getMessage() for r in caplog.records if "label value" in r.getMessage()]
    assert len(lines) == 1
    assert "2,000,003 characters long, over the 1024" in lines[0]
    assert "'sp.xxxxxxx" in lines[0] and len(lines[0]) < 300
