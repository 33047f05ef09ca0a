"""The DIDWW client and fetcher against `responses`: headers, pagination, linkage, spellings."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from prometheus_client.metrics_core import Metric
from requests import PreparedRequest

from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.payload import InvalidPayload
from exporter.core.snapshot import Snapshot
from exporter.core.telemetry import Telemetry
from exporter.vendors import didww
from exporter.vendors.didww.client import (
    CAPACITY_POOLS,
    VOICE_IN_TRUNK_GROUPS,
    VOICE_IN_TRUNKS,
    VOICE_IN_TRUNKS_INCLUDE,
    DidwwClient,
)
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.didww.fetch import DidwwFetcher
from exporter.vendors.didww.models import (
    AccountBalance,
    Page,
    Resource,
    VoiceInTrunk,
    VoiceInTrunkGroup,
    VoiceOutTrunk,
    parse_balance,
    parse_page,
    parse_voice_in_trunk,
    parse_voice_in_trunk_group,
    parse_voice_out_trunk,
)
from exporter.vendors.didww.trunks import TrunkPages, build_trunks
from tests.helpers import parsed_families, sample_value, snapshot_text

BASE = "https://didww.test/v3"
SEED = json.loads(
    Path(__file__).parent.joinpath("fixtures/didww_shared_capacity_groups_seed.json").read_text()
)
SEED_POOL_ID = "b8db1d7c-f415-4530-a340-c774bcc1c55f"


TARGET = DidwwTarget(name="didww-test", url=BASE, api_key=Secret("key-123"), rate_limit=0)


def make_client() -> DidwwClient:
    return DidwwClient(TARGET, Telemetry())


def fetch_account(
    did_counts: dict[str, int] | None = None,
) -> tuple[Snapshot, dict[str, Metric]]:
    """One collection by the fetcher, and its exposition parsed."""
    add_did_counts(did_counts or {})
    add_unanswered_trunk_endpoints()
    snapshot = DidwwFetcher(TARGET, Telemetry()).collect(Deadline(5))
    return snapshot, parsed_families(snapshot_text(didww.VENDOR, snapshot))


def add_unanswered_trunk_endpoints() -> None:
    """No trunks, from each trunk endpoint the test does not answer itself."""
    answered = {urlsplit(str(response.url)).path for response in responses.registered()}
    for path in ("/voice_in_trunks", "/voice_in_trunk_groups", "/voice_out_trunks"):
        if urlsplit(BASE + path).path not in answered:
            responses.add(responses.GET, BASE + path, json=collection([]))


def add_did_counts(counts: dict[str, int]) -> None:
    """GET /dids?filter[shared_capacity_group.id]=ID&page[size]=1: total_records per group."""

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url or "").query)
        (group_id,) = query["filter[shared_capacity_group.id]"]
        assert query["page[size]"] == ["1"]
        return 200, {}, json.dumps({"data": [], "meta": {"total_records": counts.get(group_id, 0)}})

    responses.add_callback(responses.GET, f"{BASE}/dids", callback=answer)


def value(families: dict[str, Metric], name: str, **labels: str) -> float | None:
    return sample_value(families, name, target="didww-test", **labels)


def pool_labels(families: dict[str, Metric], name: str) -> list[str]:
    return sorted(sample.labels["pool"] for sample in families[name].samples)


def pool_resource(pool_id: str, name: str, **attributes: Any) -> dict[str, Any]:
    defaults = {
        "name": name,
        "renew_date": "2026-12-01",
        "total_channels_count": 20,
        "assigned_channels_count": 15,
        "minimum_limit": 2,
        "minimum_qty_per_order": 5,
        "setup_price": "10.0",
        "monthly_price": "8.5",
        "metered_rate": "0.01",
    }
    defaults.update(attributes)
    return {"id": pool_id, "type": "capacity_pools", "attributes": defaults}


def collection(data: list, **extra: Any) -> dict[str, Any]:
    document = {"data": data, "meta": {"total_records": len(data), "api_version": "2022-05-10"}}
    document.update(extra)
    return document


def add_balance() -> None:
    responses.add(
        responses.GET,
        f"{BASE}/balance",
        json={
            "data": {
                "id": "b",
                "type": "balances",
                "attributes": {"balance": "123.45", "credit": "50.00", "total_balance": "173.45"},
            }
        },
    )


@responses.activate
def test_every_call_sends_the_exact_json_api_headers() -> None:
    call = responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    make_client().fetch_page("/capacity_pools", 1, Deadline(5))
    headers = call.calls[0].request.headers
    assert headers["Api-Key"] == "key-123"
    assert headers["Accept"] == "application/vnd.api+json"
    assert headers["Content-Type"] == "application/vnd.api+json"
    assert headers["X-DIDWW-API-Version"] == "2022-05-10"
    assert call.calls[0].request.params == {"page[number]": "1", "page[size]": "100"}


@responses.activate
def test_401_explains_the_refused_key_and_the_bearer_version_without_the_key() -> None:
    responses.add(
        responses.GET,
        f"{BASE}/balance",
        status=401,
        json={"errors": [{"title": "Unauthorized", "status": "401"}]},
    )
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_balance(Deadline(5))
    assert caught.value.reason == "auth"
    assert "refused the API key" in caught.value.detail
    assert "2026-11-19" in caught.value.detail
    assert "key-123" not in str(caught.value)


@responses.activate
def test_non_json_error_body_is_described() -> None:
    responses.add(
        responses.GET, f"{BASE}/balance", status=404, body="<h1>nope</h1>", content_type="text/html"
    )
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_balance(Deadline(5))
    assert caught.value.reason == "http_error"
    assert "text/html" in caught.value.detail


def seed_with_pool_listing() -> None:
    responses.add(
        responses.GET,
        f"{BASE}/shared_capacity_groups",
        json=SEED,
    )
    responses.add(
        responses.GET,
        f"{BASE}/capacity_pools",
        json=collection([pool_resource("lonely", "Regional")]),
    )
    add_balance()


@responses.activate
def test_seed_document_pools_groups_and_linkage() -> None:
    seed_with_pool_listing()
    snapshot, families = fetch_account({SEED["data"][0]["id"]: 3})

    assert snapshot.errors == ()
    assert snapshot.up and snapshot.complete
    # "Extended" appears only in the groups' `included`, with the seed spelling.
    extended = {"pool": "Extended"}
    assert value(families, "didww_capacity_pool_setup_price", **extended) == 0.0
    assert value(families, "didww_capacity_pool_monthly_price", **extended) == 25.0
    assert value(families, "didww_capacity_pool_unassigned_channels", **extended) == 4
    renewal = value(families, "didww_capacity_pool_renewal_timestamp_seconds", **extended)
    assert renewal == 1532131200  # 2018-07-21T00:00:00Z
    # "Regional" has no group and appears only in /capacity_pools, documented spelling.
    regional = {"pool": "Regional"}
    assert value(families, "didww_capacity_pool_setup_price", **regional) == 10.0
    assert value(families, "didww_capacity_pool_monthly_price", **regional) == 8.5
    assert value(families, "didww_capacity_pool_unassigned_channels", **regional) == 5
    mixed = {"pool": "Extended", "capacity_group": "Mixed group"}
    assert value(families, "didww_shared_capacity_group_shared_channels", **mixed) is not None
    metered = {"pool": "", "capacity_group": "Metered group"}  # relationship without `data`
    assert value(families, "didww_shared_capacity_group_metered_channels", **metered) == 30
    assert value(families, "didww_account_balance") == 123.45
    assert value(families, "didww_api_info", api_version="2022-05-10") == 1
    assert value(families, "didww_up") == 1
    first_group = SEED["data"][0]["attributes"]["name"]
    dids = families["didww_shared_capacity_group_dids"].samples
    assert {s.labels["capacity_group"]: s.value for s in dids}[first_group] == 3


@responses.activate
def test_dids_are_counted_per_group_without_including_them() -> None:
    seed_with_pool_listing()
    snapshot, families = fetch_account()
    assert snapshot.complete
    groups = [
        call.request for call in responses.calls if "/shared_capacity_groups" in call.request.url
    ]
    assert all("dids" not in parse_qs(urlsplit(r.url).query)["include"][0] for r in groups)
    counted = sorted(
        parse_qs(urlsplit(call.request.url).query)["filter[shared_capacity_group.id]"][0]
        for call in responses.calls
        if "/dids" in call.request.url
    )
    assert counted == sorted(group["id"] for group in SEED["data"])
    assert {s.value for s in families["didww_shared_capacity_group_dids"].samples} == {0}


@responses.activate
def test_null_linkage_and_null_metered_channels() -> None:
    group = {
        "id": "g1",
        "type": "shared_capacity_groups",
        "attributes": {"name": "G", "shared_channels_count": 2, "metered_channels_count": None},
        "relationships": {"capacity_pool": {"data": None}},
    }
    responses.add(responses.GET, f"{BASE}/shared_capacity_groups", json=collection([group]))
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot, families = fetch_account({"g1": 2})
    labels = {"pool": "", "capacity_group": "G"}
    assert value(families, "didww_shared_capacity_group_metered_channels", **labels) == 0
    assert value(families, "didww_shared_capacity_group_dids", **labels) == 2
    assert snapshot.up


@responses.activate
def test_a_group_linked_to_an_unknown_pool_is_left_out_as_invalid() -> None:
    group = {
        "id": "g1",
        "type": "shared_capacity_groups",
        "attributes": {"name": "G", "shared_channels_count": 2},
        "relationships": {"capacity_pool": {"data": {"type": "capacity_pools", "id": "nowhere"}}},
    }
    responses.add(responses.GET, f"{BASE}/shared_capacity_groups", json=collection([group]))
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot, families = fetch_account()
    assert [e.reason for e in snapshot.errors] == ["invalid_response"]
    assert "'nowhere'" in snapshot.errors[0].detail
    assert "didww_shared_capacity_group_shared_channels" not in families
    assert value(families, "didww_up") == 0
    assert value(families, "didww_account_balance") == 123.45


@responses.activate
def test_a_negative_count_is_invalid_not_odins_minus_one() -> None:
    responses.add(
        responses.GET,
        f"{BASE}/capacity_pools",
        json=collection(
            [
                pool_resource("p1", "Standard"),
                pool_resource("p2", "Broken", total_channels_count=-1),
            ]
        ),
    )
    responses.add(responses.GET, f"{BASE}/shared_capacity_groups", json=collection([]))
    add_balance()
    snapshot, families = fetch_account()
    assert [e.reason for e in snapshot.errors] == ["invalid_response"]
    assert "total_channels_count is -1" in snapshot.errors[0].detail
    assert pool_labels(families, "didww_capacity_pool_total_channels") == ["Standard"]
    assert not snapshot.up


def group_page(numbers: range, page: int, last: int | None, total: int | None) -> dict:
    data = [
        {
            "id": f"g{n}",
            "type": "shared_capacity_groups",
            "attributes": {"name": f"group {n}", "shared_channels_count": n},
            "relationships": {"capacity_pool": {"data": {"type": "capacity_pools", "id": "p1"}}},
        }
        for n in numbers
    ]
    links = {"first": f"{BASE}/shared_capacity_groups?page%5Bnumber%5D=1"}
    if last is not None and page < last:
        links["next"] = (
            f"{BASE}/shared_capacity_groups?page%5Bnumber%5D={page + 1}&page%5Bsize%5D=2"
        )
    if last is not None:
        links["last"] = f"{BASE}/shared_capacity_groups?page%5Bnumber%5D={last}&page%5Bsize%5D=2"
    meta = {"total_records": total} if total is not None else {}
    return {
        "data": data,
        "included": [pool_resource("p1", "Standard")],
        "meta": meta,
        "links": links,
    }


def add_group_pages(pages: dict[int, dict]) -> None:
    for number, body in pages.items():
        responses.add(
            responses.GET,
            f"{BASE}/shared_capacity_groups",
            match=[
                responses.matchers.query_param_matcher(
                    {"page[number]": str(number), "page[size]": "100", "include": "capacity_pool"}
                )
            ],
            json=body,
        )


def group_names(families: dict[str, Metric]) -> list[str]:
    samples = families["didww_shared_capacity_group_shared_channels"].samples
    return sorted(sample.labels["capacity_group"] for sample in samples)


@responses.activate
def test_every_page_is_fetched_when_the_server_caps_the_page_size() -> None:
    add_group_pages(
        {
            1: group_page(range(1, 3), 1, last=3, total=5),
            2: group_page(range(3, 5), 2, last=3, total=5),
            3: group_page(range(5, 6), 3, last=3, total=5),
        }
    )
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot, families = fetch_account()
    assert snapshot.errors == ()
    assert group_names(families) == [f"group {n}" for n in range(1, 6)]
    assert "didww_shared_capacity_group_metered_channels" not in families  # attribute absent
    # The pool came only through `included`, once, although three pages carried it.
    assert pool_labels(families, "didww_capacity_pool_total_channels") == ["Standard"]


@responses.activate
def test_a_next_link_that_loops_back_stops_and_is_reported() -> None:
    looping = group_page(range(1, 3), 1, last=None, total=None)
    looping["links"]["next"] = f"{BASE}/shared_capacity_groups?page%5Bnumber%5D=1"
    add_group_pages({1: looping})
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot, families = fetch_account()
    assert [e.reason for e in snapshot.errors] == ["invalid_response"]
    assert "loops" in snapshot.errors[0].detail
    assert len(group_names(families)) == 2  # what was read is kept
    assert not snapshot.up


@responses.activate
def test_duplicate_ids_across_pages_are_collected_once() -> None:
    page_one = group_page(range(1, 3), 1, last=2, total=4)
    page_two = group_page(range(2, 4), 2, last=2, total=4)  # g2 again
    add_group_pages({1: page_one, 2: page_two})
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot, families = fetch_account()
    assert group_names(families) == ["group 1", "group 2", "group 3"]
    assert snapshot.complete


@responses.activate
def test_one_failing_call_keeps_the_others_and_marks_the_account_down() -> None:
    responses.add(responses.GET, f"{BASE}/shared_capacity_groups", json=SEED)
    responses.add(
        responses.GET,
        f"{BASE}/capacity_pools",
        status=400,
        json={
            "errors": [{"title": "Invalid page", "detail": "page[size] too big", "status": "400"}]
        },
    )
    add_balance()
    snapshot, families = fetch_account()
    assert not snapshot.up
    assert [(e.reason, e.endpoint) for e in snapshot.errors] == [("http_error", "/capacity_pools")]
    assert "page[size] too big" in snapshot.errors[0].detail
    assert value(families, "didww_account_balance") == 123.45
    assert len(group_names(families)) == 2


@responses.activate
def test_a_task_that_crashes_is_an_internal_error_and_the_account_is_down(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_with_pool_listing()

    def crash(self: object, deadline: Deadline) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(DidwwClient, "fetch_balance", crash)
    snapshot, families = fetch_account()
    assert [(e.reason, e.detail) for e in snapshot.errors] == [
        ("internal", "unexpected ZeroDivisionError in _collect_balance")
    ]
    assert value(families, "didww_up") == 0
    assert "didww_capacity_pool_total_channels" in families  # the rest is kept
    crashes = [r for r in caplog.records if r.exc_info is not None]
    assert len(crashes) == 1 and "ZeroDivisionError" in repr(crashes[0].exc_info)


# --- trunks: shapes of the published schema (VoiceInTrunk, VoiceInTrunkGroup, VoiceOutTrunk) ---


def relationship_links(type_: str, id_: str, name: str) -> dict[str, str]:
    return {
        "self": f"{BASE}/{type_}/{id_}/relationships/{name}",
        "related": f"{BASE}/{type_}/{id_}/{name}",
    }


def voice_in_trunk(
    id_: str, name: str, limit: int | None, group: str | None, *, linked: bool = True
) -> dict[str, Any]:
    """A trunk as the schema has it, with the SIP configuration (and its auth_password)."""
    linkage: dict[str, Any] = {"links": relationship_links("voice_in_trunks", id_, "pop")}
    group_relationship: dict[str, Any] = {
        "links": relationship_links("voice_in_trunks", id_, "voice_in_trunk_group")
    }
    if linked:
        group_relationship["data"] = (
            {"type": "voice_in_trunk_groups", "id": group} if group else None
        )
    return {
        "id": id_,
        "type": "voice_in_trunks",
        "attributes": {
            "name": name,
            "description": None,
            "priority": 1,
            "weight": 65535,
            "capacity_limit": limit,
            "cli_format": "e164",
            "cli_prefix": None,
            "ringing_timeout": None,
            "created_at": "2024-02-01T10:00:00.000Z",
            "configuration": {
                "type": "sip_configurations",
                "attributes": {
                    "host": "pbx.example.com",
                    "auth_user": "pbx",
                    "auth_password": "sip-secret-in-config",
                },
            },
        },
        "relationships": {"voice_in_trunk_group": group_relationship, "pop": linkage},
    }


def voice_in_trunk_group(id_: str, name: str, limit: int | None, count: int) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "voice_in_trunk_groups",
        "attributes": {
            "name": name,
            "capacity_limit": limit,
            "external_reference_id": None,
            "created_at": "2024-01-15T09:00:00.000Z",
        },
        "relationships": {
            "voice_in_trunks": {
                "links": relationship_links("voice_in_trunk_groups", id_, "voice_in_trunks")
            }
        },
        "meta": {"trunks_count": count},
    }


def voice_out_trunk(
    id_: str, name: str, limit: int | None, threshold: str | None, reached: bool, spent: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "voice_out_trunks",
        "attributes": {
            "name": name,
            "status": "active",
            "capacity_limit": limit,
            "threshold_amount": threshold,
            "threshold_reached": reached,
            "allow_any_did_as_cli": False,
            "default_dst_action": "allow_all",
            "dst_prefixes": [],
            "callback_url": None,
            "created_at": "2024-03-01T08:00:00.000Z",
            "authentication_method": {
                "type": "credentials_and_ip",
                "attributes": {
                    "allowed_sip_ips": ["203.0.113.0/24"],
                    "tech_prefix": "",
                    "username": "out-user",
                    "password": "sip-secret-out",
                },
            },
        },
        "relationships": {
            name: {"links": relationship_links("voice_out_trunks", id_, name)}
            for name in ("dids", "emergency_dids")
        },
        "meta": {"spent_amount": spent},
    }


def trunk_page(path: str, data: list, page: int, last: int, total: int, **extra: Any) -> dict:
    def link(number: int) -> str:
        return f"{BASE}{path}?page%5Bnumber%5D={number}&page%5Bsize%5D=2"

    links = {"first": link(1), "last": link(last)}
    if page < last:
        links["next"] = link(page + 1)
    return {
        "data": data,
        "meta": {"total_records": total, "api_version": "2022-05-10"},
        "links": links,
        **extra,
    }


def add_page(path: str, number: int, body: dict, include: str | None = None) -> None:
    params = {"page[number]": str(number), "page[size]": "100"}
    if include:
        params["include"] = include
    responses.add(
        responses.GET,
        f"{BASE}{path}",
        match=[responses.matchers.query_param_matcher(params)],
        json=body,
    )


@responses.activate
def test_voice_in_trunks_read_over_several_pages_with_their_groups_included() -> None:
    primary = voice_in_trunk_group("tg1", "Primary", 30, 2)
    overflow = voice_in_trunk_group("tg2", "Overflow", None, 1)
    pages = {
        1: trunk_page(
            "/voice_in_trunks",
            [voice_in_trunk("t1", "Main", 20, "tg1"), voice_in_trunk("t2", "Backup", None, "tg1")],
            1,
            3,
            5,
            included=[primary],
        ),
        2: trunk_page(
            "/voice_in_trunks",
            [voice_in_trunk("t3", "Fax", 2, None), voice_in_trunk("t4", "Night", 4, "tg2")],
            2,
            3,
            5,
            included=[overflow],
        ),
        3: trunk_page("/voice_in_trunks", [voice_in_trunk("t5", "Lab", None, None)], 3, 3, 5),
    }
    for number, body in pages.items():
        add_page("/voice_in_trunks", number, body, include=VOICE_IN_TRUNKS_INCLUDE)

    client = make_client()
    read = [
        client.fetch_page(VOICE_IN_TRUNKS, n, Deadline(5), VOICE_IN_TRUNKS_INCLUDE)
        for n in (1, 2, 3)
    ]

    assert [(page.next_page, page.last_page, page.total_records) for page in read] == [
        (2, 3, 5),
        (3, 3, 5),
        (None, 3, 5),
    ]
    trunks = {t.name: t for page in read for t in map(parse_voice_in_trunk, page.data)}
    assert trunks["Main"] == VoiceInTrunk("t1", "Main", 20.0, "tg1")
    assert trunks["Backup"].capacity_limit == math.inf  # null: no limit
    assert trunks["Fax"].group_id is None  # linkage data: null, a trunk without a group
    assert trunks["Lab"] == VoiceInTrunk("t5", "Lab", math.inf, None)
    included = [parse_voice_in_trunk_group(r) for page in read for r in page.included]
    assert [(g.name, g.capacity_limit, g.trunks) for g in included] == [
        ("Primary", 30.0, 2.0),
        ("Overflow", math.inf, 1.0),
    ]
    assert "sip-secret-in-config" not in repr(trunks)


@responses.activate
def test_voice_in_trunk_groups_carry_limits_and_resource_meta_trunks_count() -> None:
    body = trunk_page(
        "/voice_in_trunk_groups",
        [
            voice_in_trunk_group("tg1", "Primary", 30, 2),
            voice_in_trunk_group("tg2", "Empty", None, 0),
        ],
        1,
        1,
        2,
    )
    add_page("/voice_in_trunk_groups", 1, body)
    page = make_client().fetch_page(VOICE_IN_TRUNK_GROUPS, 1, Deadline(5))
    groups = [parse_voice_in_trunk_group(r) for r in page.data]
    assert groups == [
        VoiceInTrunkGroup("tg1", "Primary", 30.0, 2.0),
        VoiceInTrunkGroup("tg2", "Empty", math.inf, 0.0),
    ]


def test_a_trunk_linkage_absent_because_not_included_reads_as_no_group() -> None:
    resource = parse_page(
        {"data": [voice_in_trunk("t1", "Main", 5, "tg1", linked=False)], "meta": {}}
    ).data[0]
    assert parse_voice_in_trunk(resource).group_id is None


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [({"name": "T"}, None), ({"name": "T", "capacity_limit": None}, math.inf)],
)
def test_missing_capacity_limit_is_no_value_and_null_is_unlimited(
    attributes: dict[str, Any], expected: float | None
) -> None:
    resource = parse_page(
        {"data": [{"id": "t", "type": "voice_in_trunks", "attributes": attributes}]}
    ).data[0]
    assert parse_voice_in_trunk(resource).capacity_limit == expected


@pytest.mark.parametrize("limit", [-1, -5, "10", True])
def test_a_capacity_limit_that_is_not_null_or_a_count_is_invalid(limit: Any) -> None:
    resource = parse_page(
        {
            "data": [
                {
                    "id": "t",
                    "type": "voice_in_trunks",
                    "attributes": {"name": "T", "capacity_limit": limit},
                }
            ]
        }
    ).data[0]
    with pytest.raises(InvalidPayload, match=r"voice_in_trunks t\.capacity_limit"):
        parse_voice_in_trunk(resource)


@responses.activate
def test_voice_out_trunks_read_limits_thresholds_and_spent_amount_over_two_pages() -> None:
    add_page(
        "/voice_out_trunks",
        1,
        trunk_page(
            "/voice_out_trunks",
            [
                voice_out_trunk("o1", "Outbound EU", 10, "100.00", False, "12.34"),
                # As in an SDK fixture: no limit and no threshold set.
                voice_out_trunk("o2", "python-sdk", None, None, False, "0.0"),
            ],
            1,
            2,
            3,
        ),
    )
    add_page(
        "/voice_out_trunks",
        2,
        trunk_page(
            "/voice_out_trunks",
            [voice_out_trunk("o3", "Outbound US", 5, "50.0", True, "61.5")],
            2,
            2,
            3,
        ),
    )
    client = make_client()
    pages = [client.fetch_voice_out_trunks_page(n, Deadline(5)) for n in (1, 2)]
    trunks = [parse_voice_out_trunk(r) for page in pages if page for r in page.data]
    assert trunks == [
        VoiceOutTrunk("o1", "Outbound EU", 10.0, 100.0, False, 12.34),
        VoiceOutTrunk("o2", "python-sdk", math.inf, None, False, 0.0),
        VoiceOutTrunk("o3", "Outbound US", 5.0, 50.0, True, 61.5),
    ]
    assert "sip-secret-out" not in repr(trunks)


@responses.activate
def test_voice_out_trunks_403_means_no_outbound_plan_not_an_error() -> None:
    call = responses.add(
        responses.GET,
        f"{BASE}/voice_out_trunks",
        status=403,
        json={
            "errors": [
                {
                    "title": "Forbidden",
                    "detail": "the account has no outbound plan",
                    "code": "403",
                    "status": "403",
                }
            ]
        },
    )
    assert make_client().fetch_voice_out_trunks_page(1, Deadline(5)) is None
    assert len(call.calls) == 1  # a standing fact: not retried


@responses.activate
def test_voice_out_trunks_401_is_still_an_auth_error() -> None:
    responses.add(responses.GET, f"{BASE}/voice_out_trunks", status=401, json={"errors": []})
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_voice_out_trunks_page(1, Deadline(5))
    assert caught.value.reason == "auth"


@responses.activate
def test_balance_reads_total_balance() -> None:
    add_balance()
    balance = make_client().fetch_balance(Deadline(5))
    assert (balance.balance, balance.credit, balance.total_balance) == (123.45, 50.0, 173.45)


def test_a_balance_without_total_balance_has_none() -> None:
    balance = parse_balance(
        {"data": {"id": "b", "type": "balances", "attributes": {"balance": "1"}}}
    )
    assert balance.total_balance is None


# --- building an account's trunks from the pages read ---


def page_of(data: list, included: list | None = None) -> Page:
    document: dict[str, Any] = {"data": data, "meta": {"total_records": len(data)}}
    if included is not None:
        document["included"] = included
    # As the client asks: including the types the page carries.
    return parse_page(document, frozenset(r["type"] for r in included or []))


def test_trunks_resolve_groups_from_the_listing_or_from_included() -> None:
    pages = TrunkPages(
        voice_in_trunks=[
            page_of(
                [voice_in_trunk("t1", "Main", 20, "tg1"), voice_in_trunk("t2", "Fax", 2, None)],
                included=[voice_in_trunk_group("tg1", "Primary", 30, 1)],
            ),
            # Page 2 links to a group only the listing has.
            page_of(
                [
                    voice_in_trunk("t3", "Night", None, "tg2"),
                    voice_in_trunk("t1", "Main", 20, "tg1"),
                ]
            ),
        ],
        voice_in_trunk_groups=[page_of([voice_in_trunk_group("tg2", "Overflow", None, 1)])],
        voice_out_trunks=[page_of([voice_out_trunk("o1", "Out", 5, "10.0", False, "1.5")])],
        outbound_enabled=True,
    )
    trunks, problems = build_trunks(pages)
    assert problems == []
    assert [t.trunk_id for t in trunks.voice_in_trunks] == ["t1", "t2", "t3"]  # t1 once
    assert [(g.name, g.trunks) for g in trunks.voice_in_trunk_groups] == [
        ("Overflow", 1.0),
        ("Primary", 1.0),
    ]
    assert [t.name for t in trunks.voice_out_trunks] == ["Out"]
    assert trunks.outbound_enabled is True


def test_trunk_problems_are_named_with_their_endpoint() -> None:
    broken = voice_in_trunk("t9", "Broken", 5, None)
    broken["attributes"]["capacity_limit"] = "five"
    pages = TrunkPages(
        voice_in_trunks=[
            page_of(
                [
                    voice_in_trunk("t1", "Lost", 3, "gone"),
                    voice_in_trunk("t2", "Twin", 1, None),
                    voice_in_trunk("t3", "Twin", 2, None),
                    broken,
                ]
            )
        ],
        voice_out_trunks=[
            page_of(
                [
                    voice_out_trunk("o1", "Out", 5, None, False, "0"),
                    voice_out_trunk("o2", "Out", 6, None, False, "0"),
                ]
            )
        ],
        outbound_enabled=True,
    )
    trunks, problems = build_trunks(pages)
    assert [(p.endpoint, p.detail) for p in problems] == [
        (
            "/voice_in_trunks",
            "voice_in_trunks t9.capacity_limit is the string 'five', expected a number",
        ),
        (
            "/voice_in_trunks",
            "voice_in_trunks t1 links to trunk group gone, which is neither listed nor included",
        ),
        ("/voice_in_trunks", "name 'Twin' is used twice"),
        ("/voice_out_trunks", "name 'Out' is used twice"),
    ]
    assert len(trunks.voice_in_trunks) == 3  # the parsable ones are kept


def test_no_outbound_plan_builds_no_voice_out_trunks_and_no_problem() -> None:
    trunks, problems = build_trunks(TrunkPages(outbound_enabled=False))
    assert (trunks.voice_out_trunks, trunks.outbound_enabled, problems) == ((), False, [])


# --- the fetcher with trunks: every sample, the 403, failures ---


def add_trunk_account() -> None:
    """Two pages of voice-in trunks (groups included), the group listing, voice-out trunks."""
    primary = voice_in_trunk_group("tg1", "Primary", 30, 2)
    add_page(
        "/voice_in_trunks",
        1,
        trunk_page(
            "/voice_in_trunks",
            [voice_in_trunk("t1", "Main", 20, "tg1"), voice_in_trunk("t2", "Backup", None, "tg1")],
            1,
            2,
            3,
            included=[primary],
        ),
        include=VOICE_IN_TRUNKS_INCLUDE,
    )
    add_page(
        "/voice_in_trunks",
        2,
        trunk_page("/voice_in_trunks", [voice_in_trunk("t3", "Fax", 2, None)], 2, 2, 3),
        include=VOICE_IN_TRUNKS_INCLUDE,
    )
    add_page(
        "/voice_in_trunk_groups",
        1,
        trunk_page(
            "/voice_in_trunk_groups",
            [primary, voice_in_trunk_group("tg2", "Overflow", None, 0)],
            1,
            1,
            2,
        ),
    )


def add_voice_out_trunks() -> None:
    add_page(
        "/voice_out_trunks",
        1,
        trunk_page(
            "/voice_out_trunks",
            [
                voice_out_trunk("o1", "Outbound EU", None, "100.00", False, "37.20"),
                voice_out_trunk("o2", "Outbound US", 10, "50.00", True, "61.50"),
            ],
            1,
            1,
            2,
        ),
    )


@responses.activate
def test_the_fetcher_exports_every_trunk_sample_and_the_total_balance() -> None:
    seed_with_pool_listing()
    add_trunk_account()
    add_voice_out_trunks()
    snapshot, families = fetch_account()

    assert snapshot.errors == () and snapshot.complete
    assert value(families, "didww_up") == 1

    def trunk_samples(name: str) -> dict[tuple[str, ...], float]:
        return {
            tuple(v for k, v in sorted(s.labels.items()) if k != "target"): s.value
            for s in families[name].samples
        }

    assert trunk_samples("didww_voice_in_trunk_capacity_limit") == {
        ("Main", "Primary"): 20,
        ("Backup", "Primary"): math.inf,
        ("Fax", ""): 2,
    }
    assert trunk_samples("didww_voice_in_trunk_info") == {
        ("Main", "Primary", "t1"): 1,
        ("Backup", "Primary", "t2"): 1,
        ("Fax", "", "t3"): 1,
    }
    assert trunk_samples("didww_voice_in_trunk_group_capacity_limit") == {
        ("Primary",): 30,
        ("Overflow",): math.inf,
    }
    assert trunk_samples("didww_voice_in_trunk_group_trunks") == {("Primary",): 2, ("Overflow",): 0}
    assert trunk_samples("didww_voice_in_trunk_group_info") == {
        ("Primary", "tg1"): 1,
        ("Overflow", "tg2"): 1,
    }
    assert value(families, "didww_outbound_enabled") == 1
    assert trunk_samples("didww_voice_out_trunk_capacity_limit") == {
        ("Outbound EU",): math.inf,
        ("Outbound US",): 10,
    }
    assert trunk_samples("didww_voice_out_trunk_threshold_amount") == {
        ("Outbound EU",): 100,
        ("Outbound US",): 50,
    }
    assert trunk_samples("didww_voice_out_trunk_threshold_reached") == {
        ("Outbound EU",): 0,
        ("Outbound US",): 1,
    }
    assert trunk_samples("didww_voice_out_trunk_spent_amount") == {
        ("Outbound EU",): 37.2,
        ("Outbound US",): 61.5,
    }
    assert trunk_samples("didww_voice_out_trunk_info") == {
        ("Outbound EU", "o1"): 1,
        ("Outbound US", "o2"): 1,
    }
    assert value(families, "didww_account_total_balance") == 173.45
    assert snapshot.counts["voice-in trunks"] == 3 and snapshot.counts["voice-out trunks"] == 2


@responses.activate
def test_no_outbound_plan_is_outbound_enabled_0_and_the_account_stays_up() -> None:
    seed_with_pool_listing()
    add_trunk_account()
    responses.add(
        responses.GET,
        f"{BASE}/voice_out_trunks",
        status=403,
        json={"errors": [{"title": "Forbidden", "detail": "no outbound plan", "status": "403"}]},
    )
    snapshot, families = fetch_account()
    assert snapshot.errors == () and snapshot.up and snapshot.complete
    assert value(families, "didww_up") == 1
    assert value(families, "didww_outbound_enabled") == 0
    assert "didww_voice_out_trunk_info" not in families
    assert (
        value(
            families,
            "didww_voice_in_trunk_capacity_limit",
            voice_in_trunk="Fax",
            voice_in_trunk_group="",
        )
        == 2
    )


@responses.activate
def test_a_failed_voice_out_call_is_an_error_not_a_missing_plan() -> None:
    seed_with_pool_listing()
    add_trunk_account()
    responses.add(responses.GET, f"{BASE}/voice_out_trunks", status=500, json={"errors": []})
    snapshot, families = fetch_account()
    assert [(e.reason, e.endpoint) for e in snapshot.errors] == [
        ("http_error", "/voice_out_trunks")
    ]
    assert value(families, "didww_up") == 0
    assert "didww_outbound_enabled" not in families  # unknown, not 0
    assert value(families, "didww_voice_in_trunk_group_trunks", voice_in_trunk_group="Primary") == 2


@responses.activate
def test_a_trunk_linked_to_an_unknown_group_downs_the_account_and_is_left_out() -> None:
    seed_with_pool_listing()
    add_page(
        "/voice_in_trunks",
        1,
        trunk_page("/voice_in_trunks", [voice_in_trunk("t1", "Lost", 3, "gone")], 1, 1, 1),
        include=VOICE_IN_TRUNKS_INCLUDE,
    )
    add_voice_out_trunks()
    snapshot, families = fetch_account()
    assert [(e.reason, e.endpoint) for e in snapshot.errors] == [
        ("invalid_response", "/voice_in_trunks")
    ]
    assert "gone" in snapshot.errors[0].detail
    assert value(families, "didww_up") == 0
    assert "didww_voice_in_trunk_capacity_limit" not in families
    assert value(families, "didww_outbound_enabled") == 1


def test_work_left_at_the_deadline_downs_the_account_even_if_it_ends_before_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker: the first pools page is answered just before the deadline; while the
    account is rendered its worker ends, and the pages and calls still queued are dropped."""
    release = threading.Event()
    calls: list[tuple[str, int]] = []
    workers: list[threading.Thread] = []
    ended_before_the_build: list[bool] = []
    pool = Resource("capacity_pools", "p1", {"name": "pool 1", "total_channels_count": 1}, {})

    def fetch_page(
        client: DidwwClient, endpoint: str, number: int, deadline: Deadline, include: Any = None
    ) -> Page:
        calls.append((endpoint, number))
        if endpoint == CAPACITY_POOLS and number == 1:
            workers.append(threading.current_thread())
            release.wait(5)
            return Page((pool,), (), 3, 2, 3, None)
        return Page((), (), 0, None, None, None)

    keep_account = DidwwFetcher._keep_account

    def keep_account_as_the_worker_ends(fetcher: DidwwFetcher, *args: Any) -> None:
        release.set()
        (worker,) = workers
        worker.join(5)  # the pool was closed at the deadline: its worker ends after this page
        ended_before_the_build.append(not worker.is_alive())
        keep_account(fetcher, *args)

    monkeypatch.setattr(DidwwClient, "fetch_page", fetch_page)
    monkeypatch.setattr(DidwwClient, "fetch_balance", lambda *_: AccountBalance(1.0, 0.0, None))
    monkeypatch.setattr(DidwwClient, "fetch_voice_out_trunks_page", lambda *_: None)
    monkeypatch.setattr(DidwwFetcher, "_keep_account", keep_account_as_the_worker_ends)

    fetcher = DidwwFetcher(replace(TARGET, max_concurrency=1), Telemetry())
    snapshot = fetcher.collect(Deadline(0.3))

    assert ended_before_the_build == [True]
    assert calls == [(CAPACITY_POOLS, 1)]  # the rest of the account was never fetched
    assert not snapshot.up
    assert [error.reason for error in snapshot.errors] == ["timeout"]


@responses.activate
def test_a_403_is_an_auth_error_in_didwws_own_words() -> None:
    responses.add(
        responses.GET,
        f"{BASE}/balance",
        status=403,
        json={"errors": [{"title": "Forbidden", "detail": "balance is not enabled"}]},
    )
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_balance(Deadline(5))
    assert caught.value.reason == "auth"
    assert "balance is not enabled" in caught.value.detail
    assert "refused the API key" not in caught.value.detail


def test_a_balance_answer_without_the_balance_is_invalid() -> None:
    with pytest.raises(InvalidPayload, match=r"balance\.balance is missing"):
        parse_balance({"data": {"type": "balances", "id": "b", "attributes": {"credit": "1.0"}}})
