"""The Odin client against `responses`: login, token lifetime, re-login, errors, parsing."""

from __future__ import annotations

import base64
import json
import math
import time
from pathlib import Path

import pytest
import responses

from exporter.config.section import Secret
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.telemetry import Telemetry
from exporter.vendors.odin.client import OdinClient, OdinTokenCache, jwt_expiry
from exporter.vendors.odin.config import OdinTarget

BASE = "https://odin.test/api/v2"
REPORTS = f"{BASE}/service-providers/trunk-groups/call-capacity/reports"
SEED_REPORT = json.loads(
    Path(__file__).parent.joinpath("fixtures/odin_report_seed.json").read_text()
)


def make_jwt(exp: float) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(exp), 'sub': 'exporter'})}.c2ln"


def make_client(**overrides: object) -> OdinClient:
    settings = {
        "name": "odin-test",
        "url": BASE,
        "username": "exporter",
        "password": Secret("s3cret-pw"),
        "service_providers": ("ent.odin",),
    }
    settings.update(overrides)
    return OdinClient(OdinTarget(**settings), Telemetry())


def add_login(token: str, status: int = 200) -> responses.BaseResponse:
    body = {"token": token, "loginType": "Provisioning"} if status == 200 else {"error": "no"}
    return responses.add(responses.POST, f"{BASE}/auth/token", json=body, status=status)


@responses.activate
def test_login_posts_credentials_and_sends_bearer_token() -> None:
    token = make_jwt(time.time() + 3600)
    login = add_login(token)
    report = responses.add(responses.GET, REPORTS, json=SEED_REPORT)

    parsed = make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    assert json.loads(login.calls[0].request.body) == {
        "username": "exporter",
        "password": "s3cret-pw",
    }
    assert report.calls[0].request.headers["Authorization"] == f"Bearer {token}"
    assert report.calls[0].request.params == {"serviceProviderId": "ent.odin"}
    assert parsed.max_active_calls == 40
    assert parsed.bursting_max_active_calls == math.inf


@responses.activate
def test_token_is_reused_until_shortly_before_exp() -> None:
    login = add_login(make_jwt(time.time() + 3600))
    responses.add(responses.GET, REPORTS, json=SEED_REPORT)
    client = make_client()
    for _ in range(3):
        client.fetch_trunk_call_capacity_report("ent.odin", Deadline(5))
    assert login.call_count == 1


def test_token_cache_refreshes_before_exp() -> None:
    now = [1_000_000.0]
    issued: list[str] = []

    def login(deadline: Deadline) -> str:
        token = make_jwt(now[0] + 600)
        issued.append(token)
        return token

    cache = OdinTokenCache(login, clock=lambda: now[0])
    first = cache.token(Deadline(1))
    now[0] += 500  # 100 s before exp: still more than the 60 s margin
    assert cache.token(Deadline(1)) == first
    now[0] += 50  # 50 s before exp: inside the margin
    cache.token(Deadline(1))
    assert len(issued) == 2


def test_a_refused_token_already_replaced_is_retried_with_its_replacement() -> None:
    tokens = iter(["a.e30.x", "b.e30.x", "c.e30.x"])
    cache = OdinTokenCache(lambda deadline: next(tokens))
    old = cache.token(Deadline(1))
    collection = Deadline(1)
    assert cache.after_refusal(old, 401, collection) == "b.e30.x"
    # a second thread of the same collection reporting the same stale token: no new login
    assert cache.after_refusal(old, 403, collection) == "b.e30.x"
    assert cache.token(collection) == "b.e30.x"


def test_a_collection_logs_in_again_at_most_once() -> None:
    tokens = iter(["a.e30.x", "b.e30.x", "c.e30.x"])
    cache = OdinTokenCache(lambda deadline: next(tokens))
    first = cache.token(Deadline(1))
    collection = Deadline(1)
    second = cache.after_refusal(first, 401, collection)
    assert second == "b.e30.x"
    assert cache.after_refusal(second, 401, collection) is None
    assert cache.after_refusal("b.e30.x", 403, collection) is None
    assert cache.after_refusal("b.e30.x", 401, Deadline(1)) == "c.e30.x"  # the next collection


def test_jwt_expiry_reads_exp_and_tolerates_garbage() -> None:
    assert jwt_expiry(make_jwt(1234567890)) == 1234567890
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.!!!.c") is None


@responses.activate
def test_401_to_a_token_of_an_earlier_collection_causes_one_relogin_and_one_retry() -> None:
    login = add_login(make_jwt(time.time() + 3600))
    responses.add(responses.GET, REPORTS, json=SEED_REPORT)
    responses.add(responses.GET, REPORTS, status=401, json={"error": "expired"})
    responses.add(responses.GET, REPORTS, json=SEED_REPORT)
    client = make_client()
    client.fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    parsed = client.fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    assert login.call_count == 2
    assert parsed.service_provider_id == "ent.odin"


@responses.activate
def test_persistent_403_is_an_auth_error_after_a_single_relogin() -> None:
    login = add_login(make_jwt(time.time() + 3600))
    responses.add(responses.GET, REPORTS, json=SEED_REPORT)
    report = responses.add(responses.GET, REPORTS, status=403, json={"error": "forbidden"})
    client = make_client()
    client.fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    with pytest.raises(UpstreamError) as caught:
        client.fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    assert caught.value.reason == "auth"
    assert login.call_count == 2
    assert report.call_count == 2


@responses.activate
def test_403_to_a_token_issued_in_this_collection_is_a_permission_error_without_relogin() -> None:
    login = add_login(make_jwt(time.time() + 3600))
    report = responses.add(responses.GET, REPORTS, status=403, json={"error": "forbidden"})
    client = make_client()
    deadline = Deadline(5)

    for service_provider in ("ent.odin", "sp.two", "sp.three"):
        with pytest.raises(UpstreamError) as caught:
            client.fetch_trunk_call_capacity_report(service_provider, deadline)
        assert caught.value.reason == "auth"

    assert login.call_count == 1
    assert report.call_count == 3


@responses.activate
def test_402_says_the_password_must_be_changed_without_printing_it() -> None:
    add_login("", status=402)
    with pytest.raises(UpstreamError) as caught:
        make_client().log_in(Deadline(5))
    assert caught.value.reason == "auth"
    assert "password must be changed" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)


@responses.activate
def test_wrong_password_is_an_auth_error() -> None:
    add_login("", status=401)
    with pytest.raises(UpstreamError) as caught:
        make_client().log_in(Deadline(5))
    assert caught.value.reason == "auth"
    assert "login refused for user 'exporter'" in str(caught.value)


@responses.activate
def test_html_error_page_from_a_proxy_is_reported_not_parsed() -> None:
    add_login(make_jwt(time.time() + 3600))
    responses.add(
        responses.GET,
        REPORTS,
        status=502,
        body="<html><body>Bad Gateway</body></html>",
        content_type="text/html",
    )
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))
    assert caught.value.reason == "http_error"
    assert caught.value.status == 502
    assert "text/html" in caught.value.detail


@responses.activate
def test_400_for_an_sp_without_trunking_carries_odins_message() -> None:
    add_login(make_jwt(time.time() + 3600))
    responses.add(
        responses.GET,
        REPORTS,
        status=400,
        json={"error": "Trunk Group service not authorized", "status": 400},
    )
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_trunk_call_capacity_report("sp.legacy", Deadline(5))
    assert caught.value.status == 400
    assert "Trunk Group service not authorized" in caught.value.detail


@responses.activate
def test_200_with_invalid_json_is_an_invalid_response() -> None:
    add_login(make_jwt(time.time() + 3600))
    responses.add(responses.GET, REPORTS, body='{"serviceProviderId": "ent.odin", "gro')
    with pytest.raises(UpstreamError) as caught:
        make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))
    assert caught.value.reason == "invalid_response"


@responses.activate
def test_a_wrong_type_leaves_out_only_its_group_and_names_the_field() -> None:
    add_login(make_jwt(time.time() + 3600))
    broken = json.loads(json.dumps(SEED_REPORT))
    broken["groups"][1]["groupTrunkCapacity"]["maxActiveCalls"] = "fifteen"
    responses.add(responses.GET, REPORTS, json=broken)
    report = make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))
    kept = [group.group_id for group in report.groups]
    assert kept == [g["groupId"] for i, g in enumerate(SEED_REPORT["groups"]) if i != 1]
    (problem,) = report.problems
    assert "report.groups[1].groupTrunkCapacity.maxActiveCalls" in problem


@responses.activate
@pytest.mark.parametrize("bad", [r"\udfff", r"nul\u0000", r"tab\there", r"c1\u0085"])
def test_a_name_that_cannot_be_a_label_value_leaves_out_only_its_group(bad: str) -> None:
    """`bad` is JSON text: an escape that decodes to a lone surrogate or a control character."""
    add_login(make_jwt(time.time() + 3600))
    text = json.dumps(SEED_REPORT).replace(
        '"groupName": "connections.demo"', f'"groupName": "{bad}"'
    )
    assert bad in text
    responses.add(responses.GET, REPORTS, body=text, content_type="application/json")
    report = make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))
    assert "connections.demo" not in [group.group_id for group in report.groups]
    assert len(report.groups) == len(SEED_REPORT["groups"]) - 1
    (problem,) = report.problems
    assert "report.groups[0].groupName holds the unprintable character U+" in problem


@responses.activate
def test_discovery_passes_reseller_and_parses_the_list() -> None:
    add_login(make_jwt(time.time() + 3600))
    listing = responses.add(
        responses.GET,
        f"{BASE}/service-providers",
        json=[
            {"serviceProviderId": "ent.a", "serviceProviderName": "A", "isEnterprise": True},
            {"serviceProviderId": "sp.b", "serviceProviderName": "B", "isEnterprise": False},
        ],
    )
    client = make_client(service_providers=(), discover=True, reseller="res1")
    providers = client.list_service_providers(Deadline(5))
    assert providers.names == ("ent.a", "sp.b")
    assert listing.calls[0].request.params == {"resellerId": "res1"}


@responses.activate
def test_trunk_group_list_and_detail() -> None:
    add_login(make_jwt(time.time() + 3600))
    url = f"{BASE}/groups/trunk-groups"
    responses.add(
        responses.GET,
        url,
        match=[responses.matchers.query_param_matcher({"serviceProviderId": "s", "groupId": "g"})],
        json=[{"name": "tg1", "groupId": "g"}, {"name": "tg2", "groupId": "g"}],
    )
    responses.add(
        responses.GET,
        url,
        match=[
            responses.matchers.query_param_matcher(
                {"serviceProviderId": "s", "groupId": "g", "name": "tg1"}
            )
        ],
        json={
            "name": "tg1",
            "maxActiveCalls": 30,
            "enableBursting": False,
            "burstingMaxActiveCalls": 12,
            "totalActiveIncomingCalls": 7,
            "totalActiveOutgoingCalls": 3,
            "trunkGroupState": "Available",
        },
    )
    client = make_client()
    assert client.list_trunk_group_names("s", "g", Deadline(5)).names == ("tg1", "tg2")
    detail = client.fetch_trunk_group_detail("s", "g", "tg1", Deadline(5))
    assert detail.max_active_calls == 30
    assert detail.max_incoming_calls is None
    assert detail.bursting_max_active_calls == 0  # bursting disabled
    assert (detail.active_incoming_calls, detail.active_outgoing_calls) == (7, 3)
    assert detail.state == "Available"


def test_a_refused_login_is_not_retried_by_every_task_of_a_collection() -> None:
    attempts: list[float] = []
    now = [1_000.0]

    def refused(deadline: Deadline) -> str:
        attempts.append(now[0])
        raise UpstreamError("auth", "/auth/token", "login refused for user 'exporter'", 401)

    cache = OdinTokenCache(refused, clock=lambda: now[0])
    for _ in range(5):
        with pytest.raises(UpstreamError):
            cache.token(Deadline(1))
    assert len(attempts) == 1
    now[0] += 11  # after the pause, the next collection tries again
    with pytest.raises(UpstreamError):
        cache.token(Deadline(1))
    assert len(attempts) == 2


@responses.activate
@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "abc def", " abc", "abc\x00"])
def test_a_token_that_cannot_be_a_header_value_is_an_invalid_login_answer(token: str) -> None:
    add_login(token)
    report = responses.add(responses.GET, REPORTS, json=SEED_REPORT)

    with pytest.raises(UpstreamError) as refused:
        make_client().fetch_trunk_call_capacity_report("ent.odin", Deadline(5))

    assert refused.value.reason == "invalid_response"
    assert "whitespace or control characters" in refused.value.detail
    assert token not in str(refused.value)  # the token is a secret: never echoed
    assert report.call_count == 0
