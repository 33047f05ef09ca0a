"""The Odin API calls the exporter makes, with login and token refresh.

One `OdinClient` per configured Odin target. Its token is shared by every thread and
every concurrent collection of that target: one login at a time, refreshed shortly before
the JWT's `exp`. When a data call answers 401 or 403 with a token from an earlier collection,
the client logs in again and retries once; a refusal of a token issued during this
collection is a permission error of that call, so a collection logs in at most once more.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.redaction import Redactor
from exporter.core.telemetry import Telemetry
from exporter.upstream.http_client import (
    CallObserver,
    UpstreamResponse,
    UpstreamSession,
    raise_for_status,
)
from exporter.vendors.odin.config import OdinTarget
from exporter.vendors.odin.models import (
    Names,
    TrunkCallCapacityReport,
    TrunkGroup,
    parse_service_providers,
    parse_trunk_call_capacity_report,
    parse_trunk_group_detail,
    parse_trunk_group_names,
)

log = logging.getLogger(__name__)

LOGIN = "/auth/token"
SERVICE_PROVIDERS = "/service-providers"
CALL_CAPACITY_REPORT = "/service-providers/trunk-groups/call-capacity/reports"
TRUNK_GROUPS = "/groups/trunk-groups"
# Used when a token's `exp` cannot be read; Odin's lifetime is about 24 h.
_UNKNOWN_LIFETIME = 15 * 60.0
# After Odin refuses the credentials, no new login is tried for this long.
_REFUSED_LOGIN_PAUSE = 10.0


class OdinTokenCache:
    """The current token of one target and when to replace it."""

    def __init__(self, login: Callable[[Deadline], str], clock: Callable[[], float] = time.time):
        self._login = login
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued_at = 0.0  # time.monotonic() of the current token's login
        self._refresh_at = 0.0
        self._relogged_at = -math.inf  # time.monotonic() of the last login after a refusal
        self._refused: UpstreamError | None = None
        self._refused_until = 0.0

    def token(self, deadline: Deadline) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                return self._replace(deadline)
            return self._token

    def after_refusal(self, refused: str, status: int, deadline: Deadline) -> str | None:
        """The token to retry with after a data call refused `refused` with 401/403, or None
        when the refusal is final for the collection that `deadline` belongs to.

        A token another thread has already replaced is simply retried with its replacement.
        Otherwise a 403 to a token issued during this collection is a permission error, and
        a collection logs in again at most once, whatever its tasks meet.
        """
        with self._lock:
            if self._token is not None and self._token != refused:
                return self._token
            started = deadline.started
            if (status == 403 and self._issued_at >= started) or self._relogged_at >= started:
                return None
            self._relogged_at = time.monotonic()
            return self._replace(deadline)

    def _replace(self, deadline: Deadline) -> str:
        """Log in and make the new token current (called with the lock held)."""
        if self._refused is not None and self._clock() < self._refused_until:
            raise self._refused
        self._token = None
        token = self._log_in(deadline)
        self._token, self._refresh_at = token, self._refresh_time(token)
        self._issued_at = time.monotonic()
        return token

    def _log_in(self, deadline: Deadline) -> str:
        """Log in; a refusal is remembered for a while so that the SP tasks of a collection
        do not each try again with the same credentials (and lock the account)."""
        try:
            token = self._login(deadline)
        except UpstreamError as error:
            if error.reason == "auth":
                self._refused, self._refused_until = error, self._clock() + _REFUSED_LOGIN_PAUSE
            raise
        self._refused = None
        return token

    def _refresh_time(self, token: str) -> float:
        now = self._clock()
        expiry = jwt_expiry(token)
        lifetime = expiry - now if expiry is not None else _UNKNOWN_LIFETIME
        # Refresh a minute early, or a fifth of the lifetime early for short-lived tokens.
        return now + lifetime - min(60.0, max(0.0, lifetime) * 0.2)


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, or None when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return None
    return float(expiry)


class OdinClient:
    """Speaks the few Odin endpoints the exporter reads, for one target."""

    def __init__(
        self,
        target: OdinTarget,
        telemetry: Telemetry,
        observer: CallObserver | None = None,
    ) -> None:
        self.target = target
        # The password travels in the login's body; the session adds the bearer tokens.
        self.redactor = Redactor([target.password.reveal()])
        self._session = UpstreamSession.for_target(
            target, telemetry, observer=observer, redactor=self.redactor
        )
        self._tokens = OdinTokenCache(self._login)

    def close(self) -> None:
        self._session.close()

    def log_in(self, deadline: Deadline) -> None:
        """Make sure a valid token is at hand (a no-op while the cached one is fresh)."""
        self._tokens.token(deadline)

    def list_service_providers(self, deadline: Deadline) -> Names:
        """Discovery: every service provider's id (of the configured reseller, if any)."""
        params = {"resellerId": self.target.reseller} if self.target.reseller else {}
        return self._get(SERVICE_PROVIDERS, params, deadline).parse(parse_service_providers)

    def fetch_trunk_call_capacity_report(
        self, service_provider_id: str, deadline: Deadline
    ) -> TrunkCallCapacityReport:
        params = {"serviceProviderId": service_provider_id}
        response = self._get(CALL_CAPACITY_REPORT, params, deadline)
        return response.parse(parse_trunk_call_capacity_report, service_provider_id)

    def list_trunk_group_names(
        self, service_provider_id: str, group_id: str, deadline: Deadline
    ) -> Names:
        params = {"serviceProviderId": service_provider_id, "groupId": group_id}
        return self._get(TRUNK_GROUPS, params, deadline).parse(parse_trunk_group_names)

    def fetch_trunk_group_detail(
        self, service_provider_id: str, group_id: str, name: str, deadline: Deadline
    ) -> TrunkGroup:
        params = {"serviceProviderId": service_provider_id, "groupId": group_id, "name": name}
        response = self._get(TRUNK_GROUPS, params, deadline)
        return response.parse(parse_trunk_group_detail, group_id, name)

    def _get(
        self, endpoint: str, params: Mapping[str, str], deadline: Deadline
    ) -> UpstreamResponse:
        """GET with the current token; on 401/403, retry once if the token cache allows."""
        token = self._tokens.token(deadline)
        response = self._session.request(
            "GET", endpoint, params=params, deadline=deadline, headers=_bearer(token)
        )
        if response.status in (401, 403):
            retry_with = self._tokens.after_refusal(token, response.status, deadline)
            if retry_with is not None:
                log.info(
                    "Odin refused the token; retrying with a new one",
                    extra={"target": self.target.name, "endpoint": endpoint},
                )
                response = self._session.request(
                    "GET", endpoint, params=params, deadline=deadline, headers=_bearer(retry_with)
                )
        raise_for_status(response, odin_error_messages)
        return response

    def _login(self, deadline: Deadline) -> str:
        credentials = {
            "username": self.target.username,
            "password": self.target.password.reveal(),
        }
        response = self._session.request("POST", LOGIN, json_body=credentials, deadline=deadline)
        if response.status == 402:
            raise UpstreamError(
                "auth",
                LOGIN,
                f"password must be changed: Odin refuses user {self.target.username!r} until "
                "its password is changed in Odin; then update the exporter's secret",
                402,
            )
        if response.status in (401, 403):
            raise UpstreamError(
                "auth", LOGIN, f"login refused for user {self.target.username!r}", response.status
            )
        raise_for_status(response, odin_error_messages)
        body = response.json()
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamError("invalid_response", LOGIN, "login answer carries no token")
        if not token.isprintable() or any(character.isspace() for character in token):
            # It goes into every request's Authorization header, where a line break would
            # split the header and whitespace would fold it.
            raise UpstreamError(
                "invalid_response",
                LOGIN,
                "login answer's token holds whitespace or control characters",
            )
        log.debug("logged in to Odin", extra={"target": self.target.name})
        return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def odin_error_messages(body: Any) -> list[str]:
    """Odin's error body: `{"error": "...", "status": 400, "details": "..."}`."""
    if not isinstance(body, dict):
        return []
    return [value for value in (body.get("error"), body.get("details")) if isinstance(value, str)]
