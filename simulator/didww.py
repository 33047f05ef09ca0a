"""The simulated DIDWW API v3 (JSON:API), as described in api/didww.md and the seed document."""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from simulator.dataset import (
    CapacityPool,
    Did,
    DidwwData,
    SharedCapacityGroup,
    VoiceInTrunk,
    VoiceOutTrunk,
)
from simulator.messages import Request, Response, json_response, reason_phrase
from simulator.settings import Settings

MEDIA_TYPE = "application/vnd.api+json"
RELEASED_VERSIONS = frozenset(
    {"2017-09-18", "2021-04-19", "2021-12-15", "2022-05-10", "2026-04-16"}
)
EXTERNAL_REFERENCE_VERSION = "2026-04-16"  # first version with external_reference_id
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

Resource = dict[str, Any]
Serializer = Callable[[Request, Any, set[str]], Resource]
Includer = Callable[[Request, Sequence[Any]], list[Resource]]


class BadRequest(Exception):
    """A client error to answer with 400 and this detail."""


class SlidingWindowLimiter:
    """At most `limit` requests per key in any 1 s window, as DIDWW limits per API key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: float | None) -> bool:
        if limit is None:
            return True
        now = self._clock()
        with self._lock:
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= limit:
                return False
            recent.append(now)
            return True


@dataclass(frozen=True)
class _Page:
    number: int
    size: int
    total: int

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def slice(self, records: Sequence[Any]) -> Sequence[Any]:
        start = (self.number - 1) * self.size
        return records[start : start + self.size]


@dataclass(frozen=True)
class _Collection:
    """How one collection endpoint reads its records, filters them and includes relations."""

    type: str
    records: Callable[[], Sequence[Any]]
    serialize: Serializer
    filters: dict[str, Callable[[Any], str | None]]
    includes: dict[str, Includer]


class DidwwApi:
    """Answers DIDWW requests from a DidwwData, with DIDWW's header and pagination rules."""

    content_type = MEDIA_TYPE

    def __init__(self, data: DidwwData, settings: Settings) -> None:
        self._data = data
        self._settings = settings
        self._limiter = SlidingWindowLimiter()
        self._collections = {
            "/capacity_pools": _Collection(
                "capacity_pools",
                lambda: self._data.capacity_pools,
                self._pool_resource,
                {"name": lambda pool: pool.name},
                {"shared_capacity_groups": self._include_pool_groups},
            ),
            "/shared_capacity_groups": _Collection(
                "shared_capacity_groups",
                lambda: self._data.shared_capacity_groups,
                self._group_resource,
                {"name": lambda group: group.name, "capacity_pool.id": lambda group: group.pool_id},
                {"capacity_pool": self._include_group_pools, "dids": self._include_group_dids},
            ),
            "/dids": _Collection(
                "dids",
                lambda: [
                    (did, group)
                    for group in self._data.shared_capacity_groups
                    for did in group.dids
                ],
                lambda request, record, include: _did_resource(record[0]),
                {"shared_capacity_group.id": lambda record: record[1].id},
                {},
            ),
            "/voice_in_trunks": _Collection(
                "voice_in_trunks",
                lambda: self._data.voice_in_trunks,
                self._trunk_resource,
                {"name": lambda trunk: trunk.name},
                {"voice_in_trunk_group": self._include_trunk_groups},
            ),
            "/voice_in_trunk_groups": _Collection(
                "voice_in_trunk_groups",
                lambda: self._data.voice_in_trunk_groups,
                self._trunk_group_resource,
                {"name": lambda group: group.name},
                {"voice_in_trunks": self._include_group_trunks},
            ),
            "/voice_out_trunks": _Collection(
                "voice_out_trunks",
                lambda: self._data.voice_out_trunks,
                _voice_out_trunk_resource,
                {"name": lambda trunk: trunk.name},
                {},
            ),
        }
        self.data_changed()

    def data_changed(self) -> None:
        """Re-index the data after a test edited the dataset."""
        self._pools_by_id = {pool.id: pool for pool in self._data.capacity_pools}
        self._trunk_groups_by_id = {group.id: group for group in self._data.voice_in_trunk_groups}

    # --- the interface the server and the faults use ---

    def handle(self, request: Request) -> Response:
        if request.header("Accept") != MEDIA_TYPE:
            return self.error(request, 406, f"Accept must be exactly {MEDIA_TYPE}")
        content_type = request.header("Content-Type")
        if content_type is not None and content_type != MEDIA_TYPE:
            return self.error(request, 415, f"Content-Type must be exactly {MEDIA_TYPE}")
        key = request.header("Api-Key")
        if key is None or not hmac.compare_digest(key.encode(), self._data.api_key.encode()):
            return self.unauthorized(request, "Invalid or missing Api-Key")
        if not self._limiter.allow(key, self._settings.didww_rate_limit):
            return self.error(request, 429, "Too Many Requests")
        collection = self._collections.get(request.path)
        if collection is None and request.path != "/balance":
            return self.error(request, 404, f"No route for {request.path}")
        if request.method not in ("GET", "HEAD"):
            return self.error(request, 405, f"{request.method} is not allowed here")
        if collection is None:
            return self._balance(request)
        if request.path == "/voice_out_trunks" and not self._data.outbound_plan:
            return self.error(request, 403, "The account has no outbound plan")
        try:
            return self._collection(request, collection)
        except BadRequest as exc:
            return self.error(request, 400, str(exc))

    def error(self, request: Request, status: int, detail: str) -> Response:
        """A JSON:API error document; the 429 one has no title, as DIDWW documents it."""
        if status == 429:
            error = {"status": "429", "detail": "Too Many Requests"}
        else:
            error = {
                "title": reason_phrase(status),
                "detail": detail,
                "code": str(status),
                "status": str(status),
            }
        return self._answer(request, status, {"errors": [error]})

    def unauthorized(self, request: Request, detail: str = "Api-Key expired") -> Response:
        return self.error(request, 401, detail)

    # --- documents ---

    def served_version(self, request: Request) -> str:
        """The account's version, or the client's X-DIDWW-API-Version when that is a newer
        released one: the header can only upgrade."""
        asked = request.header("X-DIDWW-API-Version")
        if asked in RELEASED_VERSIONS and asked > self._data.api_version:
            return asked
        return self._data.api_version

    def _answer(self, request: Request, status: int, document: dict[str, Any]) -> Response:
        document.setdefault("meta", {})["api_version"] = self.served_version(request)
        return json_response(status, document, MEDIA_TYPE)

    def _balance(self, request: Request) -> Response:
        balance = self._data.balance
        now = time.time()
        attributes = {
            "total_balance": balance.total_balance_at(now),
            "credit": balance.credit,
            "balance": balance.balance_at(now),
        }
        return self._answer(
            request, 200, {"data": {"id": balance.id, "type": "balances", "attributes": attributes}}
        )

    def _collection(self, request: Request, collection: _Collection) -> Response:
        include = _parse_include(request, collection)
        records = _apply_filters(request, collection, collection.records())
        page = self._page(request, len(records))
        items = page.slice(records)
        document: dict[str, Any] = {
            "data": [collection.serialize(request, item, include) for item in items]
        }
        if include:
            document["included"] = _unique(
                resource
                for name in sorted(include)
                for resource in collection.includes[name](request, items)
            )
        document["meta"] = {"total_records": page.total}
        document["links"] = _page_links(request, page)
        return self._answer(request, 200, document)

    def _page(self, request: Request, total: int) -> _Page:
        number = _positive_int(request, "page[number]", 1)
        size = _positive_int(request, "page[size]", DEFAULT_PAGE_SIZE)
        if size > MAX_PAGE_SIZE:
            raise BadRequest(f"page[size] exceeds the maximum page size of {MAX_PAGE_SIZE}")
        cap = self._settings.didww_max_page_size
        return _Page(number, min(size, cap) if cap else size, total)

    # --- resources ---

    def _pool_resource(self, request: Request, pool: CapacityPool, include: set[str]) -> Resource:
        assigned = pool.assigned_at(time.time())
        counts = {
            "total_channels_count": pool.total_channels_count,
            "assigned_channels_count": assigned,
            "minimum_limit": pool.minimum_limit,
            "minimum_qty_per_order": pool.minimum_qty_per_order,
        }
        if pool.seed_spelling:
            unassigned = pool.total_channels_count - assigned
            prices = {"nrc": pool.setup_price, "mrc": pool.monthly_price}
            counts["unassigned_channels_count"] = unassigned
        else:
            prices = {"setup_price": pool.setup_price, "monthly_price": pool.monthly_price}
        attributes = {
            "name": pool.name,
            "renew_date": pool.renew_date.isoformat(),
            **counts,
            **prices,
            "metered_rate": pool.metered_rate,
        }
        relationships: dict[str, dict[str, Any]] = {
            name: {"links": _relationship_links(request, "capacity_pools", pool.id, name)}
            for name in ("countries", "shared_capacity_groups", "qty_based_pricings")
        }
        if "shared_capacity_groups" in include:
            relationships["shared_capacity_groups"]["data"] = [
                _identifier(group) for group in self._groups_of(pool)
            ]
        return _resource(pool.id, "capacity_pools", attributes, relationships)

    def _group_resource(
        self, request: Request, group: SharedCapacityGroup, include: set[str]
    ) -> Resource:
        attributes: dict[str, Any] = {
            "name": group.name,
            "shared_channels_count": group.shared_channels_count,
            "created_at": group.created_at,
            "metered_channels_count": group.metered_channels_count,
        }
        if self.served_version(request) >= EXTERNAL_REFERENCE_VERSION:
            attributes["external_reference_id"] = group.external_reference_id
        relationships: dict[str, dict[str, Any]] = {
            name: {"links": _relationship_links(request, "shared_capacity_groups", group.id, name)}
            for name in ("capacity_pool", "dids")
        }
        if "capacity_pool" in include and not group.omit_pool_linkage:
            pool = self._pools_by_id.get(group.pool_id) if group.pool_id else None
            relationships["capacity_pool"]["data"] = _identifier(pool) if pool else None
        if "dids" in include:
            relationships["dids"]["data"] = [{"type": "dids", "id": did.id} for did in group.dids]
        return _resource(group.id, "shared_capacity_groups", attributes, relationships)

    def _trunk_resource(self, request: Request, trunk: VoiceInTrunk, include: set[str]) -> Resource:
        attributes = {
            "name": trunk.name,
            "description": None,
            "priority": 1,
            "weight": 65535,
            "capacity_limit": trunk.capacity_limit,
            "cli_format": "e164",
            "cli_prefix": None,
            "ringing_timeout": None,
            "created_at": trunk.created_at,
            "configuration": {"type": "pstn_configurations", "attributes": {"dst": "442080995011"}},
        }
        relationships: dict[str, dict[str, Any]] = {
            name: {"links": _relationship_links(request, "voice_in_trunks", trunk.id, name)}
            for name in ("voice_in_trunk_group", "pop")
        }
        if "voice_in_trunk_group" in include:
            group = self._trunk_groups_by_id.get(trunk.group_id) if trunk.group_id else None
            relationships["voice_in_trunk_group"]["data"] = (
                {"type": "voice_in_trunk_groups", "id": group.id} if group else None
            )
        return _resource(trunk.id, "voice_in_trunks", attributes, relationships)

    def _trunk_group_resource(
        self, request: Request, group: VoiceInTrunk, include: set[str]
    ) -> Resource:
        attributes: dict[str, Any] = {
            "name": group.name,
            "capacity_limit": group.capacity_limit,
            "created_at": group.created_at,
        }
        if self.served_version(request) >= EXTERNAL_REFERENCE_VERSION:
            attributes["external_reference_id"] = None
        links = _relationship_links(request, "voice_in_trunk_groups", group.id, "voice_in_trunks")
        relationship: dict[str, Any] = {"links": links}
        members = self._trunks_of(group)
        if "voice_in_trunks" in include:
            relationship["data"] = [{"type": "voice_in_trunks", "id": t.id} for t in members]
        resource = _resource(
            group.id, "voice_in_trunk_groups", attributes, {"voice_in_trunks": relationship}
        )
        resource["meta"] = {"trunks_count": len(members)}
        return resource

    # --- included resources of one page ---

    def _trunks_of(self, group: VoiceInTrunk) -> list[VoiceInTrunk]:
        return [trunk for trunk in self._data.voice_in_trunks if trunk.group_id == group.id]

    def _include_trunk_groups(
        self, request: Request, trunks: Sequence[VoiceInTrunk]
    ) -> list[Resource]:
        groups = (self._trunk_groups_by_id.get(t.group_id) for t in trunks if t.group_id)
        return [self._trunk_group_resource(request, group, set()) for group in groups if group]

    def _include_group_trunks(
        self, request: Request, groups: Sequence[VoiceInTrunk]
    ) -> list[Resource]:
        return [
            self._trunk_resource(request, trunk, set())
            for group in groups
            for trunk in self._trunks_of(group)
        ]

    def _groups_of(self, pool: CapacityPool) -> list[SharedCapacityGroup]:
        return [
            group
            for group in self._data.shared_capacity_groups
            if group.pool_id == pool.id and not group.omit_pool_linkage
        ]

    def _include_group_pools(
        self, request: Request, groups: Sequence[SharedCapacityGroup]
    ) -> list[Resource]:
        pools = (
            self._pools_by_id.get(group.pool_id)
            for group in groups
            if group.pool_id and not group.omit_pool_linkage
        )
        return [self._pool_resource(request, pool, set()) for pool in pools if pool]

    def _include_group_dids(
        self, request: Request, groups: Sequence[SharedCapacityGroup]
    ) -> list[Resource]:
        return [_did_resource(did) for group in groups for did in group.dids]

    def _include_pool_groups(
        self, request: Request, pools: Sequence[CapacityPool]
    ) -> list[Resource]:
        return [
            self._group_resource(request, group, set())
            for pool in pools
            for group in self._groups_of(pool)
        ]


def _did_resource(did: Did) -> Resource:
    attributes = {
        "number": did.number,
        "description": did.description,
        "blocked": False,
        "terminated": False,
        "capacity_limit": None,
        "channels_included_count": 0,
        "dedicated_channels_count": 0,
        "created_at": did.created_at,
    }
    return _resource(did.id, "dids", attributes, {})


def _resource(
    id_: str, type_: str, attributes: dict[str, Any], relationships: dict[str, Any]
) -> Resource:
    resource: Resource = {"id": id_, "type": type_, "attributes": attributes}
    if relationships:
        resource["relationships"] = relationships
    return resource


def _voice_out_trunk_resource(
    request: Request, trunk: VoiceOutTrunk, include: set[str]
) -> Resource:
    """As the published schema has it, authenticated by address: no generated credentials."""
    attributes: dict[str, Any] = {
        "name": trunk.name,
        "status": "active",
        "external_reference_id": None,
        "capacity_limit": trunk.capacity_limit,
        "allow_any_did_as_cli": True,
        "on_cli_mismatch_action": "reject_call",
        "default_dst_action": "allow_all",
        "dst_prefixes": [],
        "media_encryption_mode": "disabled",
        "allowed_rtp_ips": None,
        "force_symmetric_rtp": False,
        "rtp_ping": False,
        "rtp_timeout": 30,
        "threshold_amount": trunk.threshold_amount,
        "callback_url": None,
        "emergency_enable_all": False,
        "created_at": trunk.created_at,
        "threshold_reached": trunk.threshold_reached,
        "authentication_method": {
            "type": "ip_only",
            "attributes": {"allowed_sip_ips": ["203.0.113.0/24"], "tech_prefix": None},
        },
    }
    relationships = {
        name: {"links": _relationship_links(request, "voice_out_trunks", trunk.id, name)}
        for name in ("dids", "emergency_dids")
    }
    resource = _resource(trunk.id, "voice_out_trunks", attributes, relationships)
    resource["meta"] = {"spent_amount": trunk.spent_amount}
    return resource


def _identifier(record: CapacityPool | SharedCapacityGroup) -> dict[str, str]:
    kind = "capacity_pools" if isinstance(record, CapacityPool) else "shared_capacity_groups"
    return {"type": kind, "id": record.id}


def _relationship_links(request: Request, type_: str, id_: str, name: str) -> dict[str, str]:
    return {
        "self": f"{request.base_url}/{type_}/{id_}/relationships/{name}",
        "related": f"{request.base_url}/{type_}/{id_}/{name}",
    }


def _unique(resources: Any) -> list[Resource]:
    """Included resources appear once each, identified by (type, id)."""
    seen: dict[tuple[str, str], Resource] = {}
    for resource in resources:
        seen.setdefault((resource["type"], resource["id"]), resource)
    return list(seen.values())


def _parse_include(request: Request, collection: _Collection) -> set[str]:
    names = {name for name in request.query.get("include", "").split(",") if name}
    unknown = names - collection.includes.keys()
    if unknown:
        raise BadRequest(
            f"{', '.join(sorted(unknown))} is not a valid relationship of {collection.type}"
        )
    return names


def _apply_filters(
    request: Request, collection: _Collection, records: Sequence[Any]
) -> Sequence[Any]:
    for key, value in request.query.items():
        if not key.startswith("filter["):
            continue
        field = key.removeprefix("filter[").removesuffix("]")
        getter = collection.filters.get(field)
        if getter is None:
            raise BadRequest(f"{field} is not allowed as a filter of {collection.type}")
        wanted = set(value.split(","))
        records = [record for record in records if getter(record) in wanted]
    return records


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{raw!r} is not a valid value for {name}") from None
    if value < 1:
        raise BadRequest(f"{name} must be a positive integer")
    return value


def _page_links(request: Request, page: _Page) -> dict[str, str]:
    """first/last always; next and prev only when such a page exists; sizes as served."""

    def link(number: int) -> str:
        params = [(k, v) for k, v in request.query.items() if not k.startswith("page[")]
        params += [("page[number]", str(number)), ("page[size]", str(page.size))]
        return f"{request.base_url}{request.path}?{urlencode(params)}"

    links = {"first": link(1), "last": link(page.last)}
    if page.number < page.last:
        links["next"] = link(page.number + 1)
    if 1 < page.number <= page.last:
        links["prev"] = link(page.number - 1)
    return links
