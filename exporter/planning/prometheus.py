"""The little of Prometheus' HTTP API that planning needs: instant queries
(GET /api/v1/query), each answer checked, every failure one line naming the server."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests


class PrometheusError(Exception):
    """A query that gave no usable answer; the message is one line."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels (no __name__) and value."""

    labels: dict[str, str]
    value: float


def without_credentials(url: str) -> str:
    """The URL without user, password, query or fragment: fit to print, and the base of the
    API paths."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class PrometheusClient:
    """Instant queries against one Prometheus, each bounded by `timeout` seconds."""

    def __init__(self, url: str, timeout: float, session: requests.Session | None = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not echoed: a mistyped URL may still hold a password.
            raise PrometheusError(
                "--prometheus.url must be an http(s) URL with a host, e.g. http://prometheus:9090"
            )
        # Credentials in the URL go as basic auth, never into a URL that may be printed.
        self._base = without_credentials(url).rstrip("/")
        self._shown = self._base
        self._timeout = timeout
        self._session = session or requests.Session()
        if parts.username is not None:
            self._session.auth = (
                urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password or ""),
            )

    def query(self, expr: str) -> list[Sample]:
        """The instant vector `expr` evaluates to now."""
        payload = self._get("/api/v1/query", {"query": expr})
        data = payload.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise PrometheusError(f"{self._shown}: answer to {expr!r} is not an instant vector")
        result = data.get("result")
        if not isinstance(result, list):
            raise PrometheusError(f"{self._shown}: answer to {expr!r} has no result list")
        return [self._sample(item, expr) for item in result]

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._session.get(self._base + path, params=params, timeout=self._timeout)
        except requests.Timeout:
            raise PrometheusError(f"{self._shown}: no answer within {self._timeout:g} s") from None
        except requests.RequestException as error:
            reason = type(error).__name__
            raise PrometheusError(f"{self._shown}: cannot connect ({reason})") from None
        where = f"{self._shown}: HTTP {response.status_code}"
        try:
            payload = response.json()
        except ValueError:
            raise PrometheusError(f"{where}, not a Prometheus API answer (not JSON)") from None
        if not isinstance(payload, dict):
            raise PrometheusError(f"{where}, not a Prometheus API answer (not an object)")
        if payload.get("status") != "success":
            # Prometheus' error texts may span lines (a PromQL parse error): one line here.
            message = " ".join(str(payload.get("error", "no error given")).split())
            raise PrometheusError(f"{where}, {payload.get('errorType', 'error')}: {message}")
        return payload

    def _sample(self, item: Any, expr: str) -> Sample:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items() if k != "__name__"}
            value = float(item["value"][1])
        except (KeyError, TypeError, IndexError, ValueError, AttributeError):
            raise PrometheusError(
                f"{self._shown}: a series in the answer to {expr!r} is malformed"
            ) from None
        return Sample(labels, value)
