"""The simulated upstreams, exercised over real HTTP as the exporter will use them."""

from __future__ import annotations

import base64
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import Fault, Simulator, active_calls, default_dataset, generated_dataset
from simulator.dataset import LoadProfile, TrunkGroup
from tests.helpers import wait_until
from tests.processes import Processes

REPORT = "/service-providers/trunk-groups/call-capacity/reports"
MEDIA = "application/vnd.api+json"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def login(sim: Simulator) -> dict[str, str]:
    answer = requests.post(
        f"{sim.odin_url}/auth/token",
        json={"username": sim.odin_username, "password": sim.odin_password},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def odin_get(sim: Simulator, path: str, auth: dict[str, str], **params: str) -> requests.Response:
    return requests.get(f"{sim.odin_url}{path}", params=params, headers=auth, timeout=5)


def didww_headers(sim: Simulator, **extra: str) -> dict[str, str]:
    return {"Api-Key": sim.didww_api_key, "Accept": MEDIA, "Content-Type": MEDIA, **extra}


def didww_get(sim: Simulator, path: str, **params: Any) -> requests.Response:
    headers = didww_headers(sim)
    return requests.get(f"{sim.didww_url}{path}", params=params, headers=headers, timeout=5)


def didww_pages(sim: Simulator, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a collection, following links.next as a client would."""
    first = didww_get(sim, path, **params)
    assert first.status_code == 200, first.text
    pages = [first.json()]
    while "next" in pages[-1]["links"] and len(pages) < 10:
        answer = requests.get(pages[-1]["links"]["next"], headers=didww_headers(sim), timeout=5)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
    return pages


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- Odin: authentication -----------------------------------------------------------------------


def test_login_issues_a_jwt_whose_exp_follows_token_lifetime(sim: Simulator) -> None:
    sim.token_lifetime = 120
    before = time.time()
    answer = requests.post(
        f"{sim.odin_url}/auth/token",
        json={"username": sim.odin_username, "password": sim.odin_password},
        timeout=5,
    )
    body = answer.json()
    assert answer.status_code == 200
    assert {"token", "loginType", "userId"} <= body.keys()
    header, _, signature = body["token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "HS256"
    assert "=" not in body["token"] and signature
    claims = jwt_claims(body["token"])
    assert claims["sub"] == sim.odin_username
    assert isinstance(claims["exp"], int)
    assert before + 119 <= claims["exp"] <= time.time() + 120
    assert sim.stats.logins == 1


def test_wrong_credentials_answer_401_and_password_change_402(sim: Simulator) -> None:
    url = f"{sim.odin_url}/auth/token"
    wrong = requests.post(url, json={"username": sim.odin_username, "password": "x"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["status"] == 401 and {"error", "details"} <= wrong.json().keys()

    sim.password_must_change = True
    expired = requests.post(
        url, json={"username": sim.odin_username, "password": sim.odin_password}, timeout=5
    )
    assert expired.status_code == 402
    assert sim.stats.logins == 0


def test_data_calls_need_a_valid_bearer_token(sim: Simulator) -> None:
    assert odin_get(sim, "/service-providers", {}).status_code == 401
    assert (
        odin_get(sim, "/service-providers", {"Authorization": "Bearer abc.def.ghi"}).status_code
        == 401
    )
    with Simulator() as other:  # same claims, another signing secret
        foreign = login(other)
    assert odin_get(sim, "/service-providers", foreign).status_code == 401
    assert odin_get(sim, "/service-providers", login(sim)).status_code == 200


def test_token_expires_after_its_lifetime_and_refresh_renews(sim: Simulator) -> None:
    sim.token_lifetime = 1
    auth = login(sim)
    assert odin_get(sim, "/service-providers", auth).status_code == 200
    refreshed = requests.put(f"{sim.odin_url}/auth/token", headers=auth, timeout=5)
    assert refreshed.status_code == 200
    assert refreshed.json()["token"] != auth["Authorization"].split()[1]

    exp = jwt_claims(auth["Authorization"].split()[1])["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    expired = odin_get(sim, "/service-providers", auth)
    assert expired.status_code == 401
    assert "expired" in expired.json()["details"].lower()
    assert requests.put(f"{sim.odin_url}/auth/token", headers=auth, timeout=5).status_code == 401


# --- Odin: discovery and the report -------------------------------------------------------------


def test_discovery_lists_service_providers_and_groups(sim: Simulator) -> None:
    auth = login(sim)
    sps = odin_get(sim, "/service-providers", auth).json()
    assert [sp["serviceProviderId"] for sp in sps] == [
        "ent.acme",
        "sp.northwind",
        "sp.legacy",
        "ent.globex",
    ]
    assert all(
        sp.keys() == {"serviceProviderId", "serviceProviderName", "isEnterprise"} for sp in sps
    )
    resold = odin_get(sim, "/service-providers", auth, resellerId="reseller.blue").json()
    assert {sp["serviceProviderId"] for sp in resold} == {"sp.northwind", "sp.legacy"}

    groups = odin_get(sim, "/groups", auth, serviceProviderId="ent.acme").json()
    assert {g["groupId"] for g in groups} == {
        "acme.hq",
        "acme.branch",
        "acme.callcenter",
        "acme.lobby",
    }
    assert groups[0].keys() == {"groupId", "groupName", "userLimit", "serviceProviderId"}
    assert odin_get(sim, "/groups", auth, serviceProviderId="nobody").status_code == 404


def test_report_has_the_seed_documents_shape(sim: Simulator) -> None:
    report = odin_get(sim, REPORT, login(sim), serviceProviderId="ent.acme").json()
    assert report.keys() == {"serviceProviderId", "serviceProviderTrunkCapacity", "groups"}
    assert report["serviceProviderTrunkCapacity"] == {
        "serviceProviderId": "ent.acme",
        "maxActiveCalls": 40,
        "burstingMaxActiveCalls": 10,
    }
    group = report["groups"][0]
    assert group.keys() == {"groupId", "groupName", "userLimit", "service", "groupTrunkCapacity"}
    assert group["service"].keys() == {
        "serviceName",
        "authorized",
        "assigned",
        "limited",
        "quantity",
        "usage",
        "licensed",
        "allowed",
        "alias",
    }
    assert group["service"]["serviceName"] == "Trunk Group" and group["service"]["allowed"] == -1
    assert group["groupTrunkCapacity"].keys() == {
        "maxActiveCalls",
        "maxAvailableActiveCalls",
        "burstingMaxActiveCalls",
        "burstingMaxAvailableActiveCalls",
        "serviceProviderId",
        "groupId",
    }
    # Oversubscribed, like the seed's 65 against 40.
    allocated = sum(g["groupTrunkCapacity"]["maxActiveCalls"] for g in report["groups"])
    assert allocated == 65 > report["serviceProviderTrunkCapacity"]["maxActiveCalls"]


def test_reports_carry_unlimited_values_and_alertable_conditions(sim: Simulator) -> None:
    auth = login(sim)
    northwind = odin_get(sim, REPORT, auth, serviceProviderId="sp.northwind").json()
    assert northwind["serviceProviderTrunkCapacity"]["burstingMaxActiveCalls"] == -1
    assert all(
        g["groupTrunkCapacity"]["maxAvailableActiveCalls"] == -1 for g in northwind["groups"]
    )
    unlimited = [
        g["service"] for g in northwind["groups"] if g["service"]["limited"] == "Unlimited"
    ]
    assert unlimited and all(service["quantity"] == -1 for service in unlimited)

    globex = odin_get(sim, REPORT, auth, serviceProviderId="ent.globex").json()
    capacities = [g["groupTrunkCapacity"] for g in globex["groups"]]
    assert any(c["maxActiveCalls"] > c["maxAvailableActiveCalls"] > 0 for c in capacities)
    services = [g["service"] for g in globex["groups"]]
    assert any(s["limited"] == "Limited" and s["usage"] >= s["quantity"] for s in services)


def test_report_errors_per_service_provider(sim: Simulator) -> None:
    auth = login(sim)
    legacy = odin_get(sim, REPORT, auth, serviceProviderId="sp.legacy")
    assert legacy.status_code == 400
    assert legacy.json()["status"] == 400
    assert odin_get(sim, REPORT, auth, serviceProviderId="sp.unknown").status_code == 404
    assert odin_get(sim, REPORT, auth).status_code == 400


# --- Odin: trunk groups and live calls ----------------------------------------------------------


def test_trunk_group_list_and_detail(sim: Simulator) -> None:
    auth = login(sim)
    path = "/groups/trunk-groups"
    listing = odin_get(sim, path, auth, serviceProviderId="ent.acme", groupId="acme.hq").json()
    assert [tg["name"] for tg in listing] == ["acme-hq-pbx", "acme-hq-fax"]
    assert listing[0].keys() == {
        "name",
        "department",
        "deviceName",
        "deviceLevel",
        "groupId",
        "serviceProviderId",
    }
    detail = odin_get(
        sim, path, auth, serviceProviderId="ent.acme", groupId="acme.hq", name="acme-hq-pbx"
    ).json()
    assert detail["maxActiveCalls"] == 30 and detail["trunkGroupState"] == "Available"
    assert "maxIncomingCalls" not in detail and "maxOutgoingCalls" not in detail
    assert {"enableBursting", "burstingMaxActiveCalls", "capacityExceededTrapInitialCalls"} <= set(
        detail
    )
    active = detail["totalActiveIncomingCalls"] + detail["totalActiveOutgoingCalls"]
    # Demand is 95 % or more, but ent.acme's cap refuses part of it (calls.admitted_calls).
    assert 0 < active <= 30

    fax = odin_get(
        sim, path, auth, serviceProviderId="ent.acme", groupId="acme.hq", name="acme-hq-fax"
    ).json()
    assert fax["maxIncomingCalls"] == 2 and fax["maxOutgoingCalls"] == 2

    no_trunking = odin_get(sim, path, auth, serviceProviderId="ent.acme", groupId="acme.lobby")
    assert no_trunking.status_code == 400
    legacy = odin_get(sim, path, auth, serviceProviderId="sp.legacy", groupId="legacy.main")
    assert legacy.status_code == 400
    missing = odin_get(
        sim, path, auth, serviceProviderId="ent.acme", groupId="acme.hq", name="nope"
    )
    assert missing.status_code == 404


def default_trunk_groups() -> list[TrunkGroup]:
    return [
        tg
        for sp in default_dataset().odin.service_providers
        for group in sp.groups
        if group.trunking
        for tg in group.trunking.trunk_groups
    ]


def test_active_calls_move_over_time_and_never_exceed_limits() -> None:
    trunk_groups = default_trunk_groups()
    start = 1_700_000_000.0
    instants = [start + step * 37.0 for step in range(2400)]  # a day in 37 s steps
    moved = set()
    for tg in trunk_groups:
        seen = set()
        for at in instants:
            incoming, outgoing = active_calls(tg, at)
            assert incoming >= 0 and outgoing >= 0
            assert incoming + outgoing <= tg.max_active_calls
            assert tg.max_incoming_calls is None or incoming <= tg.max_incoming_calls
            assert tg.max_outgoing_calls is None or outgoing <= tg.max_outgoing_calls
            seen.add((incoming, outgoing))
        if len(seen) > 1:
            moved.add(tg.name)
    assert len(moved) == len(trunk_groups)
    assert active_calls(trunk_groups[0], start) == active_calls(trunk_groups[0], start)


def test_default_data_always_has_trunk_groups_near_their_limit() -> None:
    trunk_groups = default_trunk_groups()
    for step in range(3000):
        at = 1_700_000_000.0 + step * 13.0
        ratios = [sum(active_calls(tg, at)) / tg.max_active_calls for tg in trunk_groups]
        assert max(ratios) >= 0.95
        assert sorted(ratios)[-2] >= 0.80  # a second one, so "above 80 %" is not only "above 95 %"


@settings(max_examples=300, deadline=None)
@given(
    at=st.floats(min_value=0, max_value=4e9),
    limit=st.integers(min_value=0, max_value=500),
    base=st.floats(min_value=0, max_value=1),
    swing=st.floats(min_value=0, max_value=1),
    share=st.floats(min_value=0, max_value=1),
    max_in=st.none() | st.integers(min_value=0, max_value=500),
)
def test_active_calls_stay_within_every_limit(
    at: float, limit: int, base: float, swing: float, share: float, max_in: int | None
) -> None:
    tg = TrunkGroup(
        "tg",
        max_active_calls=limit,
        max_incoming_calls=max_in,
        load=LoadProfile(base=base, swing=swing, incoming_share=share),
    )
    incoming, outgoing = active_calls(tg, at)
    assert 0 <= incoming + outgoing <= limit
    assert max_in is None or incoming <= max_in
    if max_in is None:  # nothing else caps the total: the load band is a promise
        assert incoming + outgoing >= limit * (base - swing) - 1e-9


# --- DIDWW: headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "status"),
    [
        ({"Accept": "application/json"}, 406),
        ({"Accept": f"{MEDIA}; charset=utf-8"}, 406),
        ({"Content-Type": f"{MEDIA}; charset=utf-8"}, 415),
        ({"Content-Type": "application/json"}, 415),
        ({"Api-Key": "wrong"}, 401),
    ],
)
def test_didww_refuses_wrong_headers(sim: Simulator, override: dict[str, str], status: int) -> None:
    answer = requests.get(
        f"{sim.didww_url}/balance", headers=didww_headers(sim, **override), timeout=5
    )
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == MEDIA
    error = answer.json()["errors"][0]
    assert error["status"] == str(status) and "detail" in error


def test_didww_401_body_and_missing_key(sim: Simulator) -> None:
    headers = didww_headers(sim)
    del headers["Api-Key"]
    answer = requests.get(f"{sim.didww_url}/balance", headers=headers, timeout=5)
    assert answer.status_code == 401
    error = answer.json()["errors"][0]
    assert error["title"] == "Unauthorized" and error["code"] == "401"


def test_didww_api_version_is_reported_and_can_only_be_upgraded(sim: Simulator) -> None:
    def served(version: str | None) -> str:
        extra = {"X-DIDWW-API-Version": version} if version else {}
        answer = requests.get(
            f"{sim.didww_url}/balance", headers=didww_headers(sim, **extra), timeout=5
        )
        return answer.json()["meta"]["api_version"]

    assert served(None) == "2022-05-10"
    assert served("2026-04-16") == "2026-04-16"
    assert served("2017-09-18") == "2022-05-10"
    assert served("2099-01-01") == "2022-05-10"


def test_balance(sim: Simulator) -> None:
    answer = didww_get(sim, "/balance")
    assert answer.headers["Content-Type"] == MEDIA
    data = answer.json()["data"]
    assert data["type"] == "balances"
    attributes = data["attributes"]
    assert attributes.keys() == {"balance", "credit", "total_balance"}
    # The demo balance burns down from 42.17 (dataset.Balance.burn_per_day).
    balance, credit = Decimal(attributes["balance"]), Decimal(attributes["credit"])
    assert Decimal("42") < balance <= Decimal("42.17") and credit == Decimal("50.00")
    assert Decimal(attributes["total_balance"]) == balance + credit


# --- DIDWW: collections -------------------------------------------------------------------------


def test_capacity_pools_use_both_spellings(sim: Simulator) -> None:
    pages = didww_pages(sim, "/capacity_pools", **{"page[size]": 100})
    pools = {p["attributes"]["name"]: p["attributes"] for page in pages for p in page["data"]}
    assert set(pools) == {"Standard", "Extended", "Regional", "Premium"}
    assert pages[0]["meta"]["total_records"] == 4
    assert {"setup_price", "monthly_price"} <= pools["Standard"].keys()
    assert "nrc" not in pools["Standard"] and "unassigned_channels_count" not in pools["Standard"]
    assert {"nrc", "mrc", "unassigned_channels_count"} <= pools["Regional"].keys()
    assert "setup_price" not in pools["Regional"]
    extended = pools["Extended"]
    assert extended["assigned_channels_count"] >= 0.9 * extended["total_channels_count"]
    assert extended["unassigned_channels_count"] < extended["minimum_qty_per_order"]
    renewals = [time.strptime(p["renew_date"], "%Y-%m-%d") for p in pools.values()]
    days = [(time.mktime(r) - time.time()) / 86400 for r in renewals]
    assert any(d <= 7 for d in days)
    assert isinstance(pools["Standard"]["metered_rate"], str)


def test_shared_capacity_groups_paginate_with_included_per_page(sim: Simulator) -> None:
    pool_names = {
        p["id"]: p["attributes"]["name"]
        for page in didww_pages(sim, "/capacity_pools")
        for p in page["data"]
    }
    pages = didww_pages(
        sim, "/shared_capacity_groups", include="capacity_pool,dids", **{"page[size]": 100}
    )
    assert [len(page["data"]) for page in pages] == [3, 3, 1]
    assert all(page["meta"]["total_records"] == 7 for page in pages)
    assert "page%5Bsize%5D=3" in pages[0]["links"]["next"]
    assert "page%5Bnumber%5D=3" in pages[0]["links"]["last"]
    assert "include=capacity_pool%2Cdids" in pages[0]["links"]["next"]

    for page in pages:
        linked_pools = {
            g["relationships"]["capacity_pool"]["data"]["id"]
            for g in page["data"]
            if g["relationships"]["capacity_pool"].get("data")
        }
        linked_dids = {d["id"] for g in page["data"] for d in g["relationships"]["dids"]["data"]}
        included = {(r["type"], r["id"]) for r in page["included"]}
        assert included == {("capacity_pools", i) for i in linked_pools} | {
            ("dids", i) for i in linked_dids
        }
    included_pools = [
        {pool_names[r["id"]] for r in page["included"] if r["type"] == "capacity_pools"}
        for page in pages
    ]
    assert included_pools == [{"Standard", "Extended"}, {"Extended"}, {"Premium"}]
    names = [g["attributes"]["name"] for page in pages for g in page["data"]]
    assert len(set(names)) == 7
    metered = [g["attributes"]["metered_channels_count"] for page in pages for g in page["data"]]
    assert None in metered and any(isinstance(m, int) and m > 0 for m in metered)


def test_pool_linkage_is_null_or_absent_for_some_groups(sim: Simulator) -> None:
    included = didww_get(
        sim, "/shared_capacity_groups", include="capacity_pool", **{"page[number]": 2}
    ).json()["data"]
    linkage = {g["attributes"]["name"]: g["relationships"]["capacity_pool"] for g in included}
    assert "data" not in linkage["Metered group"]
    assert linkage["Unpooled trial"]["data"] is None
    assert linkage["Support line"]["data"]["type"] == "capacity_pools"

    bare = didww_get(sim, "/shared_capacity_groups", **{"page[number]": 2}).json()
    assert "included" not in bare
    assert all("data" not in g["relationships"]["capacity_pool"] for g in bare["data"])
    assert all("links" in g["relationships"]["dids"] for g in bare["data"])


def test_page_size_cap_is_settable_and_bad_pages_are_refused(sim: Simulator) -> None:
    sim.didww_max_page_size = None
    body = didww_get(sim, "/shared_capacity_groups", **{"page[size]": 100}).json()
    assert len(body["data"]) == 7 and "next" not in body["links"]
    assert didww_get(sim, "/shared_capacity_groups", **{"page[size]": 101}).status_code == 400
    assert didww_get(sim, "/shared_capacity_groups", **{"page[number]": "x"}).status_code == 400
    assert didww_get(sim, "/shared_capacity_groups", include="nope").status_code == 400
    beyond = didww_get(sim, "/shared_capacity_groups", **{"page[number]": 9}).json()
    assert beyond["data"] == [] and beyond["meta"]["total_records"] == 7


def test_voice_in_trunks_have_nullable_capacity_limits(sim: Simulator) -> None:
    for path in ("/voice_in_trunks", "/voice_in_trunk_groups"):
        body = didww_get(sim, path).json()
        limits = [t["attributes"]["capacity_limit"] for t in body["data"]]
        assert None in limits and any(isinstance(limit, int) for limit in limits)
        assert all(t["type"] == path.strip("/") for t in body["data"])


def test_voice_in_trunks_paginate_with_their_group_included_per_page(sim: Simulator) -> None:
    pages = didww_pages(sim, "/voice_in_trunks", include="voice_in_trunk_group")
    assert [len(page["data"]) for page in pages] == [3, 1]
    assert all(page["meta"]["total_records"] == 4 for page in pages)
    assert "include=voice_in_trunk_group" in pages[0]["links"]["next"]
    groups = {
        g["id"]: g["attributes"]["name"]
        for g in didww_get(sim, "/voice_in_trunk_groups").json()["data"]
    }
    linked: dict[str, str] = {}
    for page in pages:
        links = {
            t["attributes"]["name"]: t["relationships"]["voice_in_trunk_group"]["data"]
            for t in page["data"]
        }
        included = {(r["type"], r["id"]) for r in page.get("included", [])}
        assert included == {("voice_in_trunk_groups", d["id"]) for d in links.values() if d}
        linked |= {name: groups[d["id"]] if d else "" for name, d in links.items()}
    assert linked == {
        "Main SIP trunk": "Primary",
        "Backup SIP trunk": "Primary",
        "Fax trunk": "",  # data: null, a trunk without a group
        "Night service": "Overflow",
    }
    bare = didww_get(sim, "/voice_in_trunks").json()
    assert "included" not in bare
    assert all("data" not in t["relationships"]["voice_in_trunk_group"] for t in bare["data"])


def test_voice_in_trunk_groups_count_their_trunks_in_resource_meta(sim: Simulator) -> None:
    body = didww_get(sim, "/voice_in_trunk_groups", include="voice_in_trunks").json()
    groups = {g["attributes"]["name"]: g for g in body["data"]}
    assert {name: g["meta"]["trunks_count"] for name, g in groups.items()} == {
        "Primary": 2,
        "Overflow": 1,
    }
    assert groups["Overflow"]["attributes"]["capacity_limit"] is None
    members = groups["Primary"]["relationships"]["voice_in_trunks"]["data"]
    assert len(members) == 2
    assert {r["type"] for r in body["included"]} == {"voice_in_trunks"}


def test_voice_out_trunks_carry_thresholds_and_spent_amount_or_403(sim: Simulator) -> None:
    pages = didww_pages(sim, "/voice_out_trunks")
    trunks = {t["attributes"]["name"]: t for page in pages for t in page["data"]}
    us, eu = trunks["Outbound US"], trunks["Outbound EU"]
    assert us["attributes"]["threshold_reached"] is True
    assert (us["attributes"]["threshold_amount"], us["meta"]["spent_amount"]) == ("50.00", "61.50")
    assert eu["attributes"]["capacity_limit"] is None
    assert isinstance(eu["meta"]["spent_amount"], str)

    sim.dataset.didww.outbound_plan = False
    refused = didww_get(sim, "/voice_out_trunks")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["status"] == "403"
    assert didww_get(sim, "/voice_in_trunks").status_code == 200


def test_trunk_paths_before_2021_12_15_are_not_served(sim: Simulator) -> None:
    assert didww_get(sim, "/trunks").status_code == 404
    assert didww_get(sim, "/trunk_groups").status_code == 404


@pytest.mark.slow
def test_didww_rate_limit_answers_429(sim: Simulator) -> None:
    sim.didww_rate_limit = 3
    codes = [didww_get(sim, "/balance").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    limited = didww_get(sim, "/balance")
    assert limited.json()["errors"] == [{"status": "429", "detail": "Too Many Requests"}]
    time.sleep(1.05)
    assert didww_get(sim, "/balance").status_code == 200


# --- faults -------------------------------------------------------------------------------------


def test_status_fault_with_retry_after_and_budget(sim: Simulator) -> None:
    auth = login(sim)
    sim.inject(
        Fault(
            api="odin",
            path=REPORT,
            match={"serviceProviderId": "ent.acme"},
            kind="status",
            status=503,
            retry_after=2,
            times=1,
        )
    )
    assert odin_get(sim, REPORT, auth, serviceProviderId="sp.northwind").status_code == 200
    faulty = odin_get(sim, REPORT, auth, serviceProviderId="ent.acme")
    assert faulty.status_code == 503
    assert faulty.headers["Retry-After"] == "2"
    assert faulty.json()["status"] == 503
    assert odin_get(sim, REPORT, auth, serviceProviderId="ent.acme").status_code == 200


def test_didww_status_fault_uses_jsonapi_errors_and_clear_faults(sim: Simulator) -> None:
    sim.inject(Fault(api="didww", path="*", kind="status", status=500))
    answer = didww_get(sim, "/capacity_pools")
    assert answer.status_code == 500 and answer.headers["Content-Type"] == MEDIA
    assert answer.json()["errors"][0]["status"] == "500"
    assert didww_get(sim, "/balance").status_code == 500
    sim.clear_faults()
    assert didww_get(sim, "/balance").status_code == 200


def test_html_fault(sim: Simulator) -> None:
    sim.inject(Fault(api="odin", path="/auth/token", kind="html", status=502))
    answer = requests.post(f"{sim.odin_url}/auth/token", json={}, timeout=5)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<html>" in answer.text and "502 Bad Gateway" in answer.text


def test_malformed_truncated_and_wrong_type_faults(sim: Simulator) -> None:
    auth = login(sim)
    normal = odin_get(sim, REPORT, auth, serviceProviderId="ent.acme").content

    sim.inject(Fault(api="odin", path=REPORT, kind="truncated_json", times=1))
    truncated = odin_get(sim, REPORT, auth, serviceProviderId="ent.acme")
    assert truncated.status_code == 200
    assert truncated.content == normal[: len(normal) // 2]

    sim.inject(Fault(api="odin", path=REPORT, kind="malformed_json", times=1))
    malformed = odin_get(sim, REPORT, auth, serviceProviderId="ent.acme")
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()

    sim.inject(Fault(api="odin", path=REPORT, kind="wrong_type", times=1))
    sim.inject(Fault(api="odin", path="/service-providers", kind="wrong_type", times=1))
    assert isinstance(odin_get(sim, REPORT, auth, serviceProviderId="ent.acme").json(), list)
    assert isinstance(odin_get(sim, "/service-providers", auth).json(), dict)
    assert odin_get(sim, REPORT, auth, serviceProviderId="ent.acme").content == normal


def test_huge_body_fault_streams_20_mb(sim: Simulator) -> None:
    sim.inject(Fault(api="didww", path="/capacity_pools", kind="huge_body", times=2))
    with requests.get(
        f"{sim.didww_url}/capacity_pools", headers=didww_headers(sim), stream=True, timeout=5
    ) as answer:
        assert answer.status_code == 200
        assert int(answer.headers["Content-Length"]) >= 20 * 1024 * 1024
        assert next(answer.iter_content(1024)).startswith(b'{"padding"')
    # A client that stopped reading half-way did not break the server.
    full = didww_get(sim, "/capacity_pools")
    assert len(full.content) >= 20 * 1024 * 1024 and isinstance(full.json(), dict)
    assert didww_get(sim, "/capacity_pools").json()["meta"]["total_records"] == 4


def test_pagination_loop_fault(sim: Simulator) -> None:
    sim.inject(Fault(api="didww", path="/shared_capacity_groups", kind="pagination_loop"))
    last = didww_get(sim, "/shared_capacity_groups", **{"page[number]": 3}).json()
    assert "total_records" not in last["meta"]
    assert last["links"]["next"] == last["links"]["first"]
    assert "page%5Bnumber%5D=1" in last["links"]["next"]


def test_expired_token_fault_in_each_apis_format(sim: Simulator) -> None:
    auth = login(sim)
    sim.inject(Fault(api="odin", path="/service-providers", kind="expired_token", times=1))
    sim.inject(Fault(api="didww", path="/balance", kind="expired_token", times=1))
    odin = odin_get(sim, "/service-providers", auth)
    assert odin.status_code == 401 and odin.json()["status"] == 401
    didww = didww_get(sim, "/balance")
    assert didww.status_code == 401 and didww.json()["errors"][0]["status"] == "401"
    assert odin_get(sim, "/service-providers", auth).status_code == 200


def test_hang_fault_blocks_only_its_request_and_stop_wakes_it(sim: Simulator) -> None:
    sim.inject(Fault(api="odin", path="/service-providers", kind="hang"))
    auth = login(sim)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sim.odin_url}/service-providers", headers=auth, timeout=0.3)
    assert didww_get(sim, "/balance").status_code == 200  # others are still answered

    outcome: list[BaseException] = []

    def hanging_client() -> None:
        try:
            requests.get(f"{sim.odin_url}/service-providers", headers=auth, timeout=30)
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=hanging_client)
    client.start()
    wait_until(lambda: sim.stats.count("odin", "/service-providers") >= 2, 5, "the second request")
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.0
    client.join(timeout=5)
    assert not client.is_alive()
    assert outcome and isinstance(outcome[0], requests.ConnectionError)


def test_fault_arguments_are_validated() -> None:
    with pytest.raises(ValueError):
        Fault(api="sip", path="/balance")
    with pytest.raises(ValueError):
        Fault(api="didww", path="/balance", kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault(api="didww", path="balance")


# --- statistics, latency, lifecycle -------------------------------------------------------------


def test_stats_count_requests_by_path_and_query(sim: Simulator) -> None:
    auth = login(sim)
    for sp in ("ent.acme", "ent.acme", "sp.legacy"):
        odin_get(sim, REPORT, auth, serviceProviderId=sp)
    didww_get(sim, "/balance")
    assert sim.stats.count("odin") == 4
    assert sim.stats.count("odin", REPORT) == 3
    assert sim.stats.count("odin", REPORT, serviceProviderId="ent.acme") == 2
    assert sim.stats.count("odin", "/auth/token") == 1
    assert sim.stats.count("didww") == 1
    assert sim.stats.count("didww", "/balance", nothing="x") == 0
    sim.stats.reset()
    assert sim.stats.count("odin") == 0 and sim.stats.logins == 0


def test_latency_and_max_in_flight(sim: Simulator) -> None:
    sim.latency = 0.3
    barrier = threading.Barrier(5)

    def client() -> None:
        barrier.wait()
        didww_get(sim, "/balance")

    threads = [threading.Thread(target=client) for _ in range(5)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.2  # concurrent, not one after another
    assert sim.stats.max_in_flight("didww") == 5
    assert sim.stats.max_in_flight("odin") == 0
    # A handler leaves "in flight" just after its answer is written, so a client may see the
    # answer first: reset restarts from what is in flight, which is nothing once they have left.

    def reset_to_nothing_in_flight() -> bool:
        sim.stats.reset()
        return sim.stats.max_in_flight("didww") == 0

    wait_until(reset_to_nothing_in_flight, 2, "the handlers to leave")
    assert sim.stats.max_in_flight("didww") == 0


def handler_threads() -> set[threading.Thread]:
    """The simulator's threads answering a connection (socketserver names them so)."""
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


def test_server_logs_nothing_to_stderr(sim: Simulator, capfd: pytest.CaptureFixture[str]) -> None:
    before = handler_threads()
    requests.get(f"{sim.odin_url}/service-providers", timeout=5)
    requests.get(f"{sim.url}/elsewhere", timeout=5)
    sim.inject(Fault(api="didww", path="/balance", kind="huge_body"))
    with requests.get(
        f"{sim.didww_url}/balance", headers=didww_headers(sim), stream=True, timeout=5
    ) as answer:
        answer.raw.read(10)
    # Whatever the server has to say about the abandoned answer, it says before its handler ends.
    wait_until(lambda: not handler_threads() - before, 5, "the handlers of these requests to end")
    assert capfd.readouterr().err == ""


def test_unknown_paths_and_methods(sim: Simulator) -> None:
    assert requests.get(f"{sim.url}/elsewhere", timeout=5).status_code == 404
    auth = login(sim)
    assert odin_get(sim, "/nothing-here", auth).status_code == 404
    assert requests.delete(f"{sim.odin_url}/groups", headers=auth, timeout=5).status_code == 405
    assert didww_get(sim, "/nothing_here").status_code == 404


# --- generated data and the command line --------------------------------------------------------


def test_generated_dataset_is_large_fast_and_deterministic() -> None:
    started = time.monotonic()
    big = generated_dataset(service_providers=1000, groups_per_sp=50)
    assert time.monotonic() - started < 2.0
    assert len(big.odin.service_providers) == 1000
    assert all(len(sp.groups) == 50 for sp in big.odin.service_providers)

    small = generated_dataset(service_providers=3, groups_per_sp=2, trunk_groups_per_group=2)
    again = generated_dataset(service_providers=3, groups_per_sp=2, trunk_groups_per_group=2)
    assert small == again
    with Simulator(small) as sim:
        auth = login(sim)
        sps = odin_get(sim, "/service-providers", auth).json()
        assert len(sps) == 3
        report = odin_get(sim, REPORT, auth, serviceProviderId=sps[0]["serviceProviderId"])
        assert report.status_code == 200 and len(report.json()["groups"]) == 2
        group = report.json()["groups"][0]["groupId"]
        tgs = odin_get(
            sim,
            "/groups/trunk-groups",
            auth,
            serviceProviderId=sps[0]["serviceProviderId"],
            groupId=group,
        ).json()
        assert len(tgs) == 2
        groups = didww_get(sim, "/shared_capacity_groups", **{"page[size]": 100}).json()
        assert groups["meta"]["total_records"] == 50 and len(groups["data"]) == 50


def test_command_line_serves_until_sigterm(processes: Processes) -> None:
    process = processes.start(
        [sys.executable, "-m", "simulator", "--listen", "127.0.0.1:0"],
        cwd=REPO,
        env={"PYTHONUNBUFFERED": "1"},
    )
    # It binds port 0 and prints where it listens.
    odin_line = process.wait_for_line(r"^Odin: ", timeout=20).string
    didww_line = process.wait_for_line(r"^DIDWW: ", timeout=5).string
    odin_url = odin_line.split()[1]
    assert odin_url.startswith("http://127.0.0.1:") and odin_url.endswith("/odin/api/v2")
    assert "password=" in odin_line and "api_key=" in didww_line
    credentials = dict(part.split("=", 1) for part in odin_line.split()[2:])
    answer = requests.post(f"{odin_url}/auth/token", json=credentials, timeout=5)
    assert answer.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0
