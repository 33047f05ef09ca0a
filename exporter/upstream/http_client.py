"""HTTP to the upstream APIs: one pooled session per target, bounded by the scrape deadline.

Every request gets a (connect, read) timeout no longer than what is left of the deadline
(name resolution included, and the wait for response headers, which a trickling upstream
cannot stretch: see `Deadline`), a client-side rate limit, retries with jittered backoff for
429, 5xx and connection errors (honouring Retry-After, never sleeping past the deadline), a
cap on the body size, and a sample in the exporter's request metrics. Failures surface as
`UpstreamError` with one of the fixed collection error reasons.

Requests are prepared by requests (`requests.Request.prepare`) and sent through its transport
adapter, whose connections keep to the deadline (`transport.py`).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import requests
import urllib3
from urllib3.exceptions import ReadTimeoutError

from exporter import __version__
from exporter.config.target import TargetSettings, TlsSettings
from exporter.core.deadline import Deadline
from exporter.core.errors import UpstreamError
from exporter.core.memory import Charge, MemoryAccount, parsed_size
from exporter.core.payload import InvalidPayload
from exporter.core.redaction import CREDENTIAL_HEADERS, Redactor
from exporter.core.telemetry import Telemetry
from exporter.upstream.transport import DeadlineAdapter, sending_within

log = logging.getLogger(__name__)
T = TypeVar("T")

USER_AGENT = f"trunk-capacity-exporter/{__version__}"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# A BroadWorks report for a large enterprise is tens of kB; anything near this is not an answer.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
# How much of an error body's explanation is kept, and of a body that is not the vendor's.
MAX_EXPLANATION = 300
BODY_HINT = 60
_CONNECT_TIMEOUT = 3.05


@dataclass(frozen=True)
class UpstreamResponse:
    """One answer; `memory` is the account of the collection that asked for it, charged with
    what decoding and parsing the body take while they run (`exporter.core.memory`)."""

    endpoint: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    # Every text made from the body passes through it: the upstream may echo a secret.
    redactor: Redactor = field(default_factory=Redactor, repr=False, compare=False)
    memory: MemoryAccount = field(default_factory=MemoryAccount.unlimited)

    def json(self) -> Any:
        """The decoded body; a body that is not JSON, or would not fit the memory budget, is
        an `invalid_response`."""
        with self._charge():
            return self._decoded()

    def parse(self, parser: Callable[..., T], *args: Any) -> T:
        """`parser(json, *args)`; a body of the wrong shape is an `invalid_response`."""
        with self._charge():
            try:
                return parser(self._decoded(), *args)
            except InvalidPayload as error:
                detail = self.redactor(str(error))
                raise UpstreamError("invalid_response", self.endpoint, detail) from None

    def _charge(self) -> Charge:
        return self.memory.charge(parsed_size(self.body), self.endpoint)

    def _decoded(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UpstreamError(
                "invalid_response",
                self.endpoint,
                f"HTTP {self.status} body is not JSON ({self.describe_body()})",
                self.status,
            ) from None

    def describe_body(self) -> str:
        """A short hint of what came back (content type and first characters), redacted."""
        content_type = self.redactor.cut(self.headers.get("Content-Type", "no content type"), 100)
        # Enough bytes that a secret starting within the hint is whole when it is redacted.
        window = self.body[: 4 * (BODY_HINT + self.redactor.longest)]
        start = window.decode("utf-8", "replace").replace("\n", " ").strip()
        hint = self.redactor.cut(start, BODY_HINT)
        return f"{content_type}, {len(self.body)} bytes starting {hint!r}"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0


class CallObserver(Protocol):
    """What a target's call budget learns from its session (`exporter.core.budget.Throttle`)."""

    def answered(self, seconds: float) -> None: ...

    def rate_limited(self, retry_after: float | None) -> None: ...


class RateLimiter:
    """Spaces requests at least 1/rate apart; a rate of 0 means no limit.

    A request whose slot lies past its deadline waits for the deadline and then fails as a
    timeout: neither it nor any request after it can be sent in time, so its worker has
    nothing better to do, and failing at the deadline lets the collection sum up all such
    requests in one line instead of one line each.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (a 429's Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)

    def wait(self, deadline: Deadline, endpoint: str) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            delay = slot - now
            too_late = delay > deadline.remaining()
            if not too_late:
                self._next_slot = slot + self._interval
        if too_late:
            time.sleep(deadline.remaining())
            raise UpstreamError(
                "timeout", endpoint, "rate limit leaves no time before the deadline"
            )
        if delay > 0:
            time.sleep(delay)


class UpstreamSession:
    """Requests to one target through one pooled adapter, safe to share between its worker
    threads.

    Each request is prepared by requests (`requests.Request.prepare`) and handed to the
    target's transport adapter (`HTTPAdapter.send`, what a `requests.Session` sends through).
    The session layer itself is left out because all it would add is what the exporter must
    not do or does once: a cookie jar read and written for every answer (the upstreams
    authenticate by header, so no cookie is kept or sent), the environment's settings merged
    into every request (a target's are fixed when its session is made: its headers, and the
    proxy and CA bundle read once, see `_settings_from_environment`), and redirects (never
    followed: an upstream's 3xx is its answer). A `requests.Session` in front of the same
    adapter costs about 0.2 ms more CPU per request (of about 0.6 ms), on the critical path of
    every worker; and it is not documented as safe to share between threads, while the
    adapter's connection pool is.
    """

    def __init__(
        self,
        *,
        target: str,
        base_url: str,
        timeout: float,
        max_concurrency: int,
        rate_limit: float,
        tls: TlsSettings,
        telemetry: Telemetry,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy = RetryPolicy(),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        observer: CallObserver | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.target = target
        # Knows every credential this session sends; the vendor adds those in request bodies.
        self.redactor = redactor or Redactor()
        # Told how long each answer took and of every 429: the target's call budget.
        self._observer = observer
        self.base_url = base_url
        self._timeout = timeout
        self._telemetry = telemetry
        self._retry = retry
        self._max_body_bytes = max_body_bytes
        self._rate_limiter = RateLimiter(rate_limit)
        # requests' default headers, as a session would send them; a request's own win.
        self._headers = {**requests.utils.default_headers(), "User-Agent": USER_AGENT}
        self._headers.update(headers or {})
        for name, value in self._headers.items():
            if name.lower() in CREDENTIAL_HEADERS:
                self.redactor.add_header(value)
        self._proxies, self._verify = _settings_from_environment(base_url, tls.verify)
        # One keep-alive connection per worker thread, so no request waits for a socket.
        self._adapter = DeadlineAdapter(
            pool_connections=1, pool_maxsize=max_concurrency, max_retries=0
        )

    @classmethod
    def for_target(
        cls,
        target: TargetSettings,
        telemetry: Telemetry,
        headers: Mapping[str, str] | None = None,
        observer: CallObserver | None = None,
        redactor: Redactor | None = None,
    ) -> UpstreamSession:
        return cls(
            target=target.name,
            base_url=target.url,
            timeout=target.timeout,
            max_concurrency=target.max_concurrency,
            rate_limit=target.rate_limit,
            tls=target.tls,
            telemetry=telemetry,
            headers=headers,
            observer=observer,
            redactor=redactor,
        )

    def close(self) -> None:
        self._adapter.close()

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        deadline: Deadline,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """Send one request, retrying transient failures while the deadline allows.

        Returns the final response whatever its status (callers decide what a 400 means);
        raises `UpstreamError` for timeouts, connection errors and oversized bodies.
        """
        for attempt in range(1, self._retry.attempts + 1):
            last_attempt = attempt == self._retry.attempts
            try:
                response = self._send_once(method, endpoint, deadline, params, json_body, headers)
            except UpstreamError as error:
                if error.reason != "connection" or last_attempt:
                    raise
                self._pause_before_retry(endpoint, attempt, None, deadline, error)
                continue
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if response.status == 429:
                # Nothing more goes out before the upstream's own Retry-After.
                self._rate_limiter.hold(retry_after or 0.0)
                if self._observer is not None:
                    self._observer.rate_limited(retry_after)
            if response.status not in RETRYABLE_STATUSES or last_attempt:
                return response
            if not self._pause_before_retry(endpoint, attempt, retry_after, deadline, None):
                return response
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _pause_before_retry(
        self,
        endpoint: str,
        attempt: int,
        retry_after: float | None,
        deadline: Deadline,
        error: UpstreamError | None,
    ) -> bool:
        """Sleep before the next attempt; False (no sleep) when that would pass the deadline."""
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)
        if retry_after is not None:
            delay = retry_after + random.uniform(0, min(1.0, retry_after * 0.1))
        if delay >= deadline.remaining():
            if error is not None:
                raise error
            return False
        log.debug(
            "retrying upstream request",
            extra={"target": self.target, "endpoint": endpoint, "attempt": attempt + 1},
        )
        time.sleep(delay)
        return True

    def _send_once(
        self,
        method: str,
        endpoint: str,
        deadline: Deadline,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> UpstreamResponse:
        self._rate_limiter.wait(deadline, endpoint)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise UpstreamError("timeout", endpoint, "deadline reached before the request")
        timeout = (min(_CONNECT_TIMEOUT, self._timeout, remaining), min(self._timeout, remaining))
        started = time.monotonic()
        code = "error"
        try:
            with sending_within(deadline):
                response = self._adapter.send(
                    self._prepare(method, endpoint, params, json_body, headers),
                    stream=True,
                    timeout=timeout,
                    verify=self._verify,
                    proxies=self._proxies,
                )
            code = str(response.status_code)
            with response:
                try:
                    body = self._read_body(response, endpoint, deadline)
                except UpstreamError as error:
                    code = "timeout" if error.reason == "timeout" else code
                    raise
            return UpstreamResponse(
                endpoint,
                response.status_code,
                body,
                response.headers,
                self.redactor,
                deadline.memory,
            )
        except requests.RequestException as error:
            if not _is_timeout(error) and not deadline.expired:
                code = "connection"
                detail = self.redactor(_describe_connection_error(error))
                raise UpstreamError("connection", endpoint, detail) from None
            code = "timeout"
            raise UpstreamError(
                "timeout", endpoint, f"no answer within {timeout[1]:.1f}s"
            ) from None
        finally:
            took = time.monotonic() - started
            self._telemetry.observe_request(self.target, endpoint, code, took)
            if self._observer is not None:
                self._observer.answered(took)

    def _prepare(
        self,
        method: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.PreparedRequest:
        """The request as requests prepares it, with the session's headers under its own.

        The query goes to requests already `urlencode`d, one of the forms its `params` takes:
        for a mapping of strings that is exactly what requests would make of it (a property
        test holds them equal), without the type checks that take requests (2.34) about a
        third of its preparation time for a mapping.
        """
        for name, value in (headers or {}).items():
            if name.lower() in CREDENTIAL_HEADERS:  # a token: one of the last few is echoed
                self.redactor.add_header(value, rotating=True)
        request = requests.Request(
            method,
            self.base_url + endpoint,
            headers={**self._headers, **headers} if headers else self._headers,
            params=urlencode(params) if params else None,
            json=json_body,
        )
        try:
            return request.prepare()
        except requests.exceptions.InvalidHeader:
            raise UpstreamError("internal", endpoint, _invalid_header(request.headers)) from None
        except requests.exceptions.InvalidJSONError:
            raise UpstreamError("internal", endpoint, "the request body is not JSON") from None

    def url(self, endpoint: str, params: Mapping[str, str] | None = None) -> str:
        """The URL a GET of `endpoint` with `params` is sent to."""
        return self._prepare("GET", endpoint, params, None, None).url or ""

    def _read_body(self, response: requests.Response, endpoint: str, deadline: Deadline) -> bytes:
        """Read at most max_body_bytes, giving up at the deadline even if data keeps trickling.

        `read1` returns what one socket read brings, so the deadline is checked between reads
        however slowly the body arrives; `iter_content` would wait for a whole chunk.
        """
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(65536, decode_content=True):
                size += len(chunk)
                if size > self._max_body_bytes:
                    raise UpstreamError(
                        "invalid_response",
                        endpoint,
                        f"response body exceeds {self._max_body_bytes // (1024 * 1024)} MiB",
                        response.status_code,
                    )
                if deadline.expired:
                    raise UpstreamError(
                        "timeout", endpoint, "deadline reached while reading the body"
                    )
                chunks.append(chunk)
        except ReadTimeoutError:
            raise UpstreamError("timeout", endpoint, "the body stopped arriving") from None
        except urllib3.exceptions.HTTPError as error:
            detail = f"reading the body failed: {type(error).__name__}"
            raise UpstreamError("connection", endpoint, detail) from None
        return b"".join(chunks)


def _invalid_header(headers: Mapping[str, str]) -> str:
    """Which header requests refused: one that would split a line or fold one. Logins and
    the config refuse such values before they get here; the value may be a secret, so only
    the header is named."""
    for name, value in headers.items():
        try:
            requests.utils.check_header_validity((name, value))
        except requests.exceptions.InvalidHeader:
            return f"the {name} header would hold a line break or leading whitespace"
    return "a header would hold a line break or leading whitespace"


def _settings_from_environment(
    base_url: str, verify: bool | str
) -> tuple[dict[str, str], bool | str]:
    """The proxies and TLS verification for `base_url`, taken from the environment once.

    A `requests.Session` with `trust_env` would read them again for every request, walking
    all of os.environ and looking for ~/.netrc: a quarter of the client-side CPU of a request
    in the profile of a 1,000-SP scrape. A session only ever talks to `base_url`'s host, so
    one reading gives the same answer. REQUESTS_CA_BUNDLE applies only when no `ca_file` or
    `insecure_skip_verify` is configured, as it does in requests; no ~/.netrc entry can
    replace the exporter's own credentials.
    """
    proxies = requests.utils.get_environ_proxies(base_url)
    if verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        verify = bundle or True
    return proxies, verify


def raise_for_status(response: UpstreamResponse, explain: Callable[[Any], list[str]]) -> None:
    """Turn an error status into an `UpstreamError` with the upstream's own explanation:
    `explain` reads the vendor's error body (decoded JSON) into its messages."""
    if response.status < 400:
        return
    if response.status in (401, 403):
        reason = "auth"
    elif response.status == 429:
        reason = "rate_limited"
    else:
        reason = "http_error"
    messages = vendor_messages(response, explain)
    # Without the vendor's words, say what came back instead (a proxy's HTML page, nothing).
    explanation = (
        response.redactor.cut("; ".join(messages), MAX_EXPLANATION)
        if messages
        else response.describe_body()
    )
    raise UpstreamError(
        reason,
        response.endpoint,
        f"HTTP {response.status}: {explanation}",
        response.status,
        explained=bool(messages),
    )


def vendor_messages(response: UpstreamResponse, explain: Callable[[Any], list[str]]) -> list[str]:
    """The vendor's own messages in an error body; none when it is not the vendor's JSON (or
    would not fit the memory budget)."""
    try:
        body = response.json()
    except UpstreamError:
        return []
    return [message for message in dict.fromkeys(explain(body)) if message]


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_timeout(error: requests.RequestException) -> bool:
    # requests re-raises a read timeout met while streaming the body as a ConnectionError.
    wrapped = error.args[0] if error.args else None
    return isinstance(error, requests.Timeout) or isinstance(wrapped, ReadTimeoutError)


def _describe_connection_error(error: requests.RequestException) -> str:
    """The innermost cause, without the URL (which may carry query values)."""
    cause: BaseException = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause) or type(cause).__name__
    return f"connection failed: {text.split(': ', 1)[-1][:200]}"
