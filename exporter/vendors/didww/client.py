"""The DIDWW API v3 calls the exporter makes (JSON:API, one page at a time)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.telemetry import Telemetry
from exporter.upstream.http_client import (
    CallObserver,
    UpstreamResponse,
    UpstreamSession,
    raise_for_status,
)
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.didww.models import AccountBalance, Page, parse_balance, parse_page

CAPACITY_POOLS = "/capacity_pools"
SHARED_CAPACITY_GROUPS = "/shared_capacity_groups"
BALANCE = "/balance"
DIDS = "/dids"
VOICE_IN_TRUNKS = "/voice_in_trunks"
VOICE_IN_TRUNK_GROUPS = "/voice_in_trunk_groups"
VOICE_OUT_TRUNKS = "/voice_out_trunks"
# A trunk's group linkage is present only when the group is included.
VOICE_IN_TRUNKS_INCLUDE = "voice_in_trunk_group"
# The resource type each `include` asks for: the only `included` objects a page keeps.
INCLUDED_TYPES = {
    "capacity_pool": frozenset({"capacity_pools"}),
    VOICE_IN_TRUNKS_INCLUDE: frozenset({"voice_in_trunk_groups"}),
}
# The documented maximum page size.
PAGE_SIZE = 100
# The server rejects any media-type parameter (e.g. "; charset=utf-8") with 406/415.
JSON_API = "application/vnd.api+json"


def didww_headers(target: DidwwTarget) -> dict[str, str]:
    return {
        "Api-Key": target.api_key.reveal(),
        "Accept": JSON_API,
        "Content-Type": JSON_API,
        "X-DIDWW-API-Version": target.api_version,
    }


class DidwwClient:
    """Speaks the DIDWW endpoints the exporter reads, for one account."""

    def __init__(
        self,
        target: DidwwTarget,
        telemetry: Telemetry,
        observer: CallObserver | None = None,
    ) -> None:
        self.target = target
        self._session = UpstreamSession.for_target(
            target, telemetry, didww_headers(target), observer
        )
        # Knows the Api-Key: the session registers every credential header it sends.
        self.redactor = self._session.redactor

    def close(self) -> None:
        self._session.close()

    def fetch_page(
        self, endpoint: str, page_number: int, deadline: Deadline, include: str | None = None
    ) -> Page:
        """A page, held in the collection's memory account until the collection ends."""
        response = self._get(endpoint, _page_params(page_number, include), deadline)
        page = response.parse(parse_page, INCLUDED_TYPES.get(include or "", frozenset()))
        return _held(page, endpoint, page_number, deadline)

    def fetch_voice_out_trunks_page(self, page_number: int, deadline: Deadline) -> Page | None:
        """A page of /voice_out_trunks; None when the account has no outbound plan (403)."""
        params = _page_params(page_number, None)
        response = self._session.request("GET", VOICE_OUT_TRUNKS, params=params, deadline=deadline)
        if response.status == 403:
            return None
        page = self._checked(VOICE_OUT_TRUNKS, response).parse(parse_page)
        return _held(page, VOICE_OUT_TRUNKS, page_number, deadline)

    def count_dids(self, shared_capacity_group_id: str, deadline: Deadline) -> int:
        """DIDs in a shared capacity group: `meta.total_records` of a one-DID page."""
        params = {
            "filter[shared_capacity_group.id]": shared_capacity_group_id,
            "page[size]": "1",
        }
        page = self._get(DIDS, params, deadline).parse(parse_page)
        if page.total_records is None:
            raise UpstreamError("invalid_response", DIDS, "the DID count has no meta.total_records")
        return page.total_records

    def fetch_balance(self, deadline: Deadline) -> AccountBalance:
        return self._get(BALANCE, {}, deadline).parse(parse_balance)

    def _get(
        self, endpoint: str, params: Mapping[str, str], deadline: Deadline
    ) -> UpstreamResponse:
        response = self._session.request("GET", endpoint, params=params, deadline=deadline)
        return self._checked(endpoint, response)

    def _checked(self, endpoint: str, response: UpstreamResponse) -> UpstreamResponse:
        """A 401 is the key (or the Bearer-only API version); a 403 is DIDWW refusing a
        feature, so it keeps DIDWW's own words, as every other error status does."""
        if response.status == 401:
            raise UpstreamError(
                "auth",
                endpoint,
                "DIDWW refused the API key (HTTP 401); check the key, and whether the account "
                "moved to API version 2026-11-19, which accepts only Bearer tokens",
                response.status,
            )
        raise_for_status(response, json_api_error_messages)
        return response


def _held(page: Page, endpoint: str, number: int, deadline: Deadline) -> Page:
    """`page`, once what it holds is charged to the collection (every page of a kind is kept
    until the kind is complete)."""
    deadline.memory.hold(page.size, endpoint, f"page {number}")
    return page


def _page_params(page_number: int, include: str | None) -> dict[str, str]:
    params = {"page[number]": str(page_number), "page[size]": str(PAGE_SIZE)}
    if include:
        params["include"] = include
    return params


def json_api_error_messages(body: Any) -> list[str]:
    """A JSON:API error body: `{"errors": [{"title", "detail", "code", "status"}]}`, all
    fields optional (DIDWW's 429 body has no title); the first error is the one shown."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return []
    return [value for value in (first.get("title"), first.get("detail")) if isinstance(value, str)]
