"""The DIDWW client and fetcher against `responses`: headers, pagination, linkage, spellings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from prometheus_client.metrics_core import Metric
from requests import PreparedRequest

from exporter import didww
from exporter.config import DidwwTarget, Secret
from exporter.deadline import Deadline
from exporter.didww.client import DidwwClient
from exporter.didww.fetch import DidwwFetcher
from exporter.http_client import UpstreamError
from exporter.snapshot import Snapshot
from exporter.telemetry import Telemetry
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
    snapshot = DidwwFetcher(TARGET, Telemetry()).collect(Deadline(5))
    return snapshot, parsed_families(snapshot_text(didww.VENDOR, snapshot))


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
