"""The DIDWW client and collection against `responses`: headers, pagination, linkage, spellings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from exporter.config import DidwwTarget, Secret
from exporter.deadline import Deadline
from exporter.didww.client import DidwwClient
from exporter.didww.collection import DidwwCollection
from exporter.http_client import UpstreamError
from exporter.telemetry import Telemetry

BASE = "https://didww.test/v3"
SEED = json.loads(
    Path(__file__).parent.joinpath("fixtures/didww_shared_capacity_groups_seed.json").read_text()
)
SEED_POOL_ID = "b8db1d7c-f415-4530-a340-c774bcc1c55f"


def make_client() -> DidwwClient:
    target = DidwwTarget(name="didww-test", url=BASE, api_key=Secret("key-123"), rate_limit=0)
    return DidwwClient(target, Telemetry())


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
    snapshot = DidwwCollection(make_client())(Deadline(5))

    assert snapshot.errors == ()
    pools = {pool.name: pool for pool in snapshot.pools}
    # "Extended" appears only in the groups' `included`, with the seed spelling.
    extended = pools["Extended"]
    assert (extended.setup_price, extended.monthly_price) == (0.0, 25.0)
    assert extended.unassigned_channels == 4
    assert extended.renewal_timestamp == 1532131200  # 2018-07-21T00:00:00Z
    # "Regional" has no group and appears only in /capacity_pools, documented spelling.
    regional = pools["Regional"]
    assert (regional.setup_price, regional.monthly_price) == (10.0, 8.5)
    assert regional.unassigned_channels == 5  # total - assigned
    groups = {group.name: group for group in snapshot.groups}
    assert groups["Mixed group"].pool_id == SEED_POOL_ID
    assert groups["Metered group"].pool_id is None  # relationship present, no `data`
    assert groups["Metered group"].metered_channels == 30
    assert groups["Mixed group"].dids is None  # dids linkage absent in the seed
    assert snapshot.balance is not None and snapshot.balance.balance == 123.45
    assert snapshot.api_version == "2022-05-10"


@responses.activate
def test_null_linkage_and_null_metered_channels() -> None:
    group = {
        "id": "g1",
        "type": "shared_capacity_groups",
        "attributes": {"name": "G", "shared_channels_count": 2, "metered_channels_count": None},
        "relationships": {
            "capacity_pool": {"data": None},
            "dids": {"data": [{"type": "dids", "id": "d1"}, {"type": "dids", "id": "d2"}]},
        },
    }
    responses.add(responses.GET, f"{BASE}/shared_capacity_groups", json=collection([group]))
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot = DidwwCollection(make_client())(Deadline(5))
    (parsed,) = snapshot.groups
    assert parsed.pool_id is None
    assert parsed.metered_channels == 0  # null: no metered overflow
    assert parsed.dids == 2


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
                    {
                        "page[number]": str(number),
                        "page[size]": "100",
                        "include": "capacity_pool,dids",
                    }
                )
            ],
            json=body,
        )


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
    snapshot = DidwwCollection(make_client())(Deadline(5))
    assert snapshot.errors == ()
    assert sorted(g.name for g in snapshot.groups) == [f"group {n}" for n in range(1, 6)]
    assert {g.metered_channels for g in snapshot.groups} == {None}  # attribute absent
    # The pool came only through `included`, once, although three pages carried it.
    assert [p.name for p in snapshot.pools] == ["Standard"]


@responses.activate
def test_a_next_link_that_loops_back_stops_and_is_reported() -> None:
    looping = group_page(range(1, 3), 1, last=None, total=None)
    looping["links"]["next"] = f"{BASE}/shared_capacity_groups?page%5Bnumber%5D=1"
    add_group_pages({1: looping})
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot = DidwwCollection(make_client())(Deadline(5))
    assert [e.reason for e in snapshot.errors] == ["invalid_response"]
    assert "loops" in snapshot.errors[0].detail
    assert len(snapshot.groups) == 2  # what was read is kept
    assert not snapshot.up


@responses.activate
def test_duplicate_ids_across_pages_are_collected_once() -> None:
    page_one = group_page(range(1, 3), 1, last=2, total=4)
    page_two = group_page(range(2, 4), 2, last=2, total=4)  # g2 again
    add_group_pages({1: page_one, 2: page_two})
    responses.add(responses.GET, f"{BASE}/capacity_pools", json=collection([]))
    add_balance()
    snapshot = DidwwCollection(make_client())(Deadline(5))
    assert sorted(g.group_id for g in snapshot.groups) == ["g1", "g2", "g3"]


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
    snapshot = DidwwCollection(make_client())(Deadline(5))
    assert not snapshot.up
    assert [(e.reason, e.endpoint) for e in snapshot.errors] == [("http_error", "/capacity_pools")]
    assert "page[size] too big" in snapshot.errors[0].detail
    assert snapshot.balance is not None and len(snapshot.groups) == 2
