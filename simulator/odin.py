"""The simulated Odin API (BroadWorks trunk call capacity), as described in api/odin.md."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from simulator import jwt
from simulator.calls import CallAdmission
from simulator.dataset import Group, GroupTrunking, OdinData, ServiceProvider, TrunkGroup
from simulator.messages import JSON, Request, Response, json_response, reason_phrase
from simulator.settings import Settings
from simulator.stats import Stats

REPORT_PATH = "/service-providers/trunk-groups/call-capacity/reports"
TRUNK_GROUPS_PATH = "/groups/trunk-groups"
LOGIN = ("POST", "/auth/token")

Claims = dict[str, Any]
Handler = Callable[[Request, Claims], Response]


class OdinApi:
    """Answers Odin requests from an OdinData; every call but login needs a valid Bearer JWT."""

    content_type = JSON

    def __init__(
        self,
        data: OdinData,
        settings: Settings,
        stats: Stats,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._data = data
        self._settings = settings
        self._stats = stats
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._reports: dict[str, bytes] = {}
        self._calls = CallAdmission()
        self._routes: dict[tuple[str, str], Handler] = {
            LOGIN: self._login,
            ("PUT", "/auth/token"): self._refresh,
            ("GET", "/auth/session"): self._session,
            ("GET", "/service-providers"): self._service_providers,
            ("GET", "/groups"): self._groups,
            ("GET", REPORT_PATH): self._report,
            ("GET", TRUNK_GROUPS_PATH): self._trunk_groups,
        }
        self.data_changed()

    def data_changed(self) -> None:
        """Re-index the data and drop cached reports, after a test edited the dataset."""
        self._sps = {sp.id: sp for sp in self._data.service_providers}
        self._reports.clear()
        self._calls = CallAdmission()

    # --- the interface the server and the faults use ---

    def handle(self, request: Request) -> Response:
        route = self._routes.get((request.method, request.path))
        if route is None:
            known = any(path == request.path for _, path in self._routes)
            return self.error(request, 405 if known else 404, f"No route for {request.path}")
        if (request.method, request.path) == LOGIN:
            return route(request, {})
        claims = self._authenticate(request)
        if isinstance(claims, Response):
            return claims
        return route(request, claims)

    def error(self, request: Request, status: int, detail: str) -> Response:
        """Odin's JSON error body."""
        return json_response(
            status, {"error": reason_phrase(status), "status": status, "details": detail}
        )

    def unauthorized(self, request: Request, detail: str = "Token expired") -> Response:
        return self.error(request, 401, detail)

    # --- authentication ---

    def _issue_token(self, username: str) -> str:
        now = self._clock()
        claims = {
            "sub": username,
            "iat": int(now),
            "exp": int(now + self._settings.token_lifetime),
            "jti": secrets.token_hex(8),  # so a refresh within the same second differs
        }
        return jwt.encode(claims, self._secret)

    def _authenticate(self, request: Request) -> Claims | Response:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.unauthorized(request, "Missing bearer token")
        try:
            return jwt.decode(token.strip(), self._secret, self._clock())
        except jwt.ExpiredToken:
            return self.unauthorized(request, "Token expired")
        except jwt.InvalidToken:
            return self.unauthorized(request, "Invalid token")

    def _token_answer(self, username: str) -> Response:
        return json_response(
            200,
            {
                "token": self._issue_token(username),
                "loginType": "System",
                "userId": username,
                "passwordExpiresDays": 90,
            },
        )

    def _login(self, request: Request, _claims: Claims) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(key), str) for key in ("username", "password")
        ):
            return self.error(request, 400, "A JSON body with username and password is required")
        user_ok = hmac.compare_digest(body["username"].encode(), self._data.username.encode())
        password_ok = hmac.compare_digest(body["password"].encode(), self._data.password.encode())
        if not (user_ok and password_ok):
            return self.unauthorized(request, "Invalid username or password")
        if self._settings.password_must_change:
            return self.error(request, 402, "The password has expired and must be changed")
        self._stats.record_login()
        return self._token_answer(body["username"])

    def _refresh(self, request: Request, claims: Claims) -> Response:
        return self._token_answer(claims["sub"])

    def _session(self, request: Request, claims: Claims) -> Response:
        return json_response(200, {"userId": claims["sub"], "loginType": "System", **claims})

    # --- discovery ---

    def _service_providers(self, request: Request, _claims: Claims) -> Response:
        reseller = request.query.get("resellerId")
        return json_response(
            200,
            [
                {
                    "serviceProviderId": sp.id,
                    "serviceProviderName": sp.name,
                    "isEnterprise": sp.is_enterprise,
                }
                for sp in self._data.service_providers
                if reseller is None or sp.reseller_id == reseller
            ],
        )

    def _lookup_sp(self, request: Request) -> ServiceProvider | Response:
        sp_id = request.query.get("serviceProviderId")
        if not sp_id:
            return self.error(request, 400, "serviceProviderId is required")
        sp = self._sps.get(sp_id)
        if sp is None:
            return self.error(request, 404, f"Service provider {sp_id} not found")
        return sp

    def _groups(self, request: Request, _claims: Claims) -> Response:
        sp = self._lookup_sp(request)
        if isinstance(sp, Response):
            return sp
        return json_response(
            200,
            [
                {
                    "groupId": g.id,
                    "groupName": g.name,
                    "userLimit": g.user_limit,
                    "serviceProviderId": sp.id,
                }
                for g in sp.groups
            ],
        )

    # --- the call capacity report ---

    def _report(self, request: Request, _claims: Claims) -> Response:
        sp = self._lookup_sp(request)
        if isinstance(sp, Response):
            return sp
        if sp.max_active_calls is None:
            return self.error(
                request, 400, f"[Error 4500] Trunk Group service is not authorized for {sp.id}"
            )
        body = self._reports.get(sp.id)
        if body is None:  # reports are static: encode once, they are the benchmark's hot path
            body = self._reports[sp.id] = json.dumps(_report(sp), separators=(",", ":")).encode()
        return Response(200, body)

    # --- trunk groups and their live counters ---

    def _trunk_groups(self, request: Request, _claims: Claims) -> Response:
        sp = self._lookup_sp(request)
        if isinstance(sp, Response):
            return sp
        group_id = request.query.get("groupId")
        if not group_id:
            return self.error(request, 400, "groupId is required")
        group = next((g for g in sp.groups if g.id == group_id), None)
        if group is None:
            return self.error(request, 404, f"Group {group_id} not found in {sp.id}")
        if group.trunking is None or sp.max_active_calls is None:
            return self.error(
                request, 400, f"[Error 4500] Trunk Group service is not authorized for {group.id}"
            )
        name = request.query.get("name")
        if name is None:
            return json_response(
                200, [_trunk_group_summary(sp, group, tg) for tg in group.trunking.trunk_groups]
            )
        tg = next((tg for tg in group.trunking.trunk_groups if tg.name == name), None)
        if tg is None:
            return self.error(request, 404, f"Trunk group {name} not found in {group.id}")
        calls = self._calls.of(sp, tg, self._clock())
        return json_response(200, _trunk_group_detail(sp, group, tg, calls))


def _report(sp: ServiceProvider) -> dict[str, Any]:
    assert sp.max_active_calls is not None
    return {
        "serviceProviderId": sp.id,
        "serviceProviderTrunkCapacity": {
            "serviceProviderId": sp.id,
            "maxActiveCalls": sp.max_active_calls,
            "burstingMaxActiveCalls": sp.bursting_max_active_calls,
        },
        "groups": [_report_group(sp, g) for g in sp.groups],
    }


def _report_group(sp: ServiceProvider, group: Group) -> dict[str, Any]:
    """One group of the report. A group without trunking shows an unauthorised service row and
    no allocation, as BroadWorks lists every group of the SP."""
    assert sp.max_active_calls is not None
    trunking = group.trunking or GroupTrunking(
        0,
        sp.max_active_calls,
        bursting_max_available_active_calls=sp.bursting_max_active_calls,
        service_quantity=0,
    )
    authorized = group.trunking is not None
    return {
        "groupId": group.id,
        "groupName": group.name,
        "userLimit": group.user_limit,
        "service": {
            "serviceName": "Trunk Group",
            "authorized": authorized,
            "assigned": authorized,
            "limited": "Unlimited" if trunking.service_quantity == -1 else "Limited",
            "quantity": trunking.service_quantity,
            "usage": trunking.service_usage,
            "licensed": True,
            "allowed": -1,
            "alias": "Trunk Group",
        },
        "groupTrunkCapacity": {
            "maxActiveCalls": trunking.max_active_calls,
            "maxAvailableActiveCalls": trunking.max_available_active_calls,
            "burstingMaxActiveCalls": trunking.bursting_max_active_calls,
            "burstingMaxAvailableActiveCalls": trunking.bursting_max_available_active_calls,
            "serviceProviderId": sp.id,
            "groupId": group.id,
        },
    }


def _trunk_group_summary(sp: ServiceProvider, group: Group, tg: TrunkGroup) -> dict[str, Any]:
    return {
        "name": tg.name,
        "department": tg.department,
        "deviceName": tg.device_name,
        "deviceLevel": tg.device_level,
        "groupId": group.id,
        "serviceProviderId": sp.id,
    }


def _trunk_group_detail(
    sp: ServiceProvider, group: Group, tg: TrunkGroup, calls: tuple[int, int]
) -> dict[str, Any]:
    incoming, outgoing = calls
    detail: dict[str, Any] = {
        **_trunk_group_summary(sp, group, tg),
        "maxActiveCalls": tg.max_active_calls,
    }
    if tg.max_incoming_calls is not None:
        detail["maxIncomingCalls"] = tg.max_incoming_calls
    if tg.max_outgoing_calls is not None:
        detail["maxOutgoingCalls"] = tg.max_outgoing_calls
    detail.update(
        {
            "enableBursting": tg.enable_bursting,
            "burstingMaxActiveCalls": tg.bursting_max_active_calls,
            "burstingMaxIncomingCalls": tg.bursting_max_incoming_calls,
            "burstingMaxOutgoingCalls": tg.bursting_max_outgoing_calls,
            "capacityExceededTrapInitialCalls": tg.trap_initial_calls,
            "capacityExceededTrapOffsetCalls": tg.trap_offset_calls,
            "trunkGroupState": tg.state,
            "totalActiveIncomingCalls": incoming,
            "totalActiveOutgoingCalls": outgoing,
        }
    )
    return detail
