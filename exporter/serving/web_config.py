"""The --web.config.file: TLS, client certificates, basic auth, rate limit and headers.

The file is in the Prometheus exporter-toolkit format as its docs/web-configuration.md has it
today (inline `cert`, `key` and `client_ca`, `client_allowed_sans`, `rate_limit`: see
docs/security.md for the version). For what Debian's promtool (Prometheus 2.42) knows, a file
is refused exactly when `promtool check web-config` refuses it (tests/test_web_config.py holds
the table), so one file serves every exporter on a host. Where Python's ssl cannot do what
Go's crypto/tls does (curve preferences, HTTP/2, a client_ca_file Go would half-read), the
setting is accepted with a warning saying what happens instead. Every problem is one
`WebConfigError` line naming the key, e.g. ``tls_server_config.client_auth_type: 'Sometimes'
is not one of ...``. Relative file paths are relative to the web config file, as in
exporter-toolkit; unlike exporter-toolkit, the file and the certificates are read once, at
start-up.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import ssl
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from exporter.config.yaml_file import describe_kind, parse_yaml, read_text, shown_key
from exporter.serving.rate_limit import RateLimit, TokenBucket

log = logging.getLogger(__name__)

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# exporter-toolkit's client_auth_type as (verify mode, needs client_ca_file). Python's ssl cannot
# ask for or require a certificate without also verifying it. The exporter never looks at who
# the client is, so RequestClientCert (ask, never check) lets everyone in, like NoClientCert;
# RequireAnyClientCert verifies against client_ca_file: stricter than Go, never looser.
CLIENT_AUTH_TYPES: dict[str, tuple[ssl.VerifyMode, bool]] = {
    "NoClientCert": (ssl.CERT_NONE, False),
    "RequestClientCert": (ssl.CERT_NONE, False),
    "RequireAnyClientCert": (ssl.CERT_REQUIRED, True),
    "RequireClientCert": (ssl.CERT_REQUIRED, True),  # exporter-toolkit's older name
    "VerifyClientCertIfGiven": (ssl.CERT_OPTIONAL, True),
    "RequireAndVerifyClientCert": (ssl.CERT_REQUIRED, True),
}

# The cipher suites Go's crypto/tls calls secure (tls.CipherSuites()), the only names
# exporter-toolkit accepts, with OpenSSL's name for the TLS 1.2 ones. As in Go, the list
# applies up to TLS 1.2: TLS 1.3 suites are named but cannot be chosen.
CIPHER_SUITES: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
# exporter-toolkit's curve names. Python's ssl can set one curve, not a preference list, so
# curve_preferences is checked and then left to OpenSSL's defaults.
CURVES = ("CurveP256", "CurveP384", "CurveP521", "X25519")

# The headers exporter-toolkit lets a web config set, with the only values allowed (None: any).
ALLOWED_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

# These keys turn TLS on; a tls_server_config with none of them set serves plain HTTP.
_TLS_SWITCHES = (
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
)
_TLS_KEYS = {*_TLS_SWITCHES, "min_version", "max_version", "cipher_suites"}
_TLS_KEYS |= {"curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans"}
_HTTP_KEYS = {"headers", "http2"}
_RATE_LIMIT_KEYS = {"interval", "burst"}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"}
# The client auth types under which a client must send a certificate, the only ones
# exporter-toolkit lets client_allowed_sans go with (otherwise there may be no SAN to match).
_SAN_AUTH_TYPES = ("RequireAnyClientCert", "RequireClientCert", "RequireAndVerifyClientCert")
# Go's time.ParseDuration: a sequence of decimal numbers with units, e.g. 1s, 1.5m, 1h30m.
_GO_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3}
_GO_DURATION_UNITS |= {"s": 1.0, "m": 60.0, "h": 3600.0}

# A bcrypt hash as bcrypt itself accepts it: the salt's last character carries only 2 bits.
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}")
# bcrypt reads only this many bytes; longer passwords are refused rather than truncated.
BCRYPT_MAX_PASSWORD = 72
REALM = "trunk-capacity-exporter"
# Stands in for the decoy hash when no user's hash is usable (the cost of a usual hash).
_DECOY_SALT = b"$2b$10$" + b"." * 22
# Verified credentials remembered (as keyed hashes): far more than the users of any web config.
VERIFIED_CACHE_SIZE = 64
# bcrypt checks at once: each takes a core for its tens to hundreds of milliseconds, and
# more at once would only take the CPU from everything else the exporter does.
BCRYPT_CONCURRENCY = 2


class WebConfigError(Exception):
    """A web config problem, worded as the one line the operator will read."""


@dataclass(frozen=True)
class Pem:
    """A certificate or key: a file, or PEM text given inline (`cert`, `key`, `client_ca`)."""

    file: Path | None = None
    text: str | None = field(default=None, repr=False)  # `key` is a secret


@dataclass(frozen=True)
class TlsServerConfig:
    cert: Pem
    key: Pem
    client_auth_type: str = "NoClientCert"
    client_ca: Pem | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    cipher_suites: tuple[str, ...] = ()  # Go names; empty: OpenSSL's defaults
    prefer_server_cipher_suites: bool = True
    client_allowed_sans: frozenset[str] | None = None  # None: any client certificate


@dataclass(frozen=True)
class WebConfig:
    tls: TlsServerConfig | None = None
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth_users: Mapping[str, str] = field(default_factory=dict, repr=False)
    rate_limit: RateLimit | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A fresh server context, or None for plain HTTP; reads the certificate files now."""
        if self.tls is None:
            return None
        tls = self.tls
        # Not create_default_context(): it would trust the system CAs for client certificates.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            # Python deprecates TLS 1.0 and 1.1; exporter-toolkit still lets a file ask for them.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = tls.min_version
            context.maximum_version = tls.max_version
        _load_pair(context, tls.cert, tls.key)
        if tls.client_ca is not None:
            _load_client_ca(context, tls.client_ca)
        context.verify_mode = CLIENT_AUTH_TYPES[tls.client_auth_type][0]
        _apply_cipher_suites(context, tls.cipher_suites)
        if not tls.prefer_server_cipher_suites:
            context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        if tls.client_allowed_sans is not None:
            context.sslobject_class = _san_checking(tls.client_allowed_sans)
        return context

    def basic_auth(self) -> BasicAuth | None:
        return BasicAuth(self.basic_auth_users) if self.basic_auth_users else None

    def rate_limiter(self) -> TokenBucket | None:
        """A fresh bucket, full; None when rate_limit is off."""
        return TokenBucket(self.rate_limit) if self.rate_limit is not None else None


class BasicAuth:
    """HTTP basic auth against bcrypt hashes, checked the way exporter-toolkit checks them.

    bcrypt is slow on purpose, so a right answer is remembered: Prometheus scraping every few
    seconds pays for bcrypt once. What is remembered is an HMAC of the username and password
    under a key made at start (never the password, nor a hash of it alone that could be tried
    against guesses offline), in a bounded cache of the most recent; only successes, so
    guessing cannot evict a good credential faster than good credentials arrive. At most
    BCRYPT_CONCURRENCY checks run at once; checkpw releases the GIL, so a check never holds up
    a client whose credential is already known (`known()` needs no bcrypt at all).
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self._bcrypt = _import_bcrypt()
        self._hashes = {user: hashed.encode() for user, hashed in users.items()}
        # An unknown user is checked against a real hash: timing must not tell who exists.
        usable = [hashed for hashed in users.values() if _BCRYPT_HASH.fullmatch(hashed)]
        self._decoy = usable[0].encode() if usable else self._bcrypt.hashpw(b"", _DECOY_SALT)
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._bcrypt_slots = threading.BoundedSemaphore(BCRYPT_CONCURRENCY)

    def known(self, authorization_header: str | None) -> bool:
        """Whether the header holds a credential already verified: cheap, no bcrypt."""
        credentials = _basic_credentials(authorization_header)
        return credentials is not None and self._remembered(self._digest(*credentials))

    def check(self, authorization_header: str | None) -> bool:
        credentials = _basic_credentials(authorization_header)
        if credentials is None:
            return False
        user, password = credentials
        if len(password) > BCRYPT_MAX_PASSWORD:
            return False
        digest = self._digest(user, password)
        if self._remembered(digest):
            return True
        try:
            with self._bcrypt_slots:
                matches = self._bcrypt.checkpw(password, self._hashes.get(user, self._decoy))
        except ValueError:  # a hash Go accepts but bcrypt cannot use: no one logs in with it
            return False
        if not (matches and user in self._hashes):
            return False
        with self._lock:
            self._verified[digest] = None
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return True

    def _digest(self, user: str, password: bytes) -> bytes:
        return hmac.digest(self._key, user.encode() + b"\0" + password, hashlib.sha256)

    def _remembered(self, digest: bytes) -> bool:
        with self._lock:
            if digest not in self._verified:
                return False
            self._verified.move_to_end(digest)
            return True


def load_web_config(path: str | Path) -> WebConfig:
    """Read and fully check a web config: certificate files load, bcrypt is importable."""
    path = Path(path)
    text = read_text(path, "web config file", WebConfigError)
    document = parse_yaml(text, str(path), WebConfigError)
    top = _mapping(document, "", _TOP_KEYS)
    config = WebConfig(
        tls=_tls(top.get("tls_server_config"), path.parent),
        headers=_http(top.get("http_server_config")),
        basic_auth_users=_users(top.get("basic_auth_users")),
        rate_limit=_rate_limit(top.get("rate_limit")),
    )
    config.ssl_context()
    config.basic_auth()
    return config


def _tls(value: Any, base: Path) -> TlsServerConfig | None:
    where = "tls_server_config"
    section = _mapping(value, where, _TLS_KEYS)
    # Checked whether TLS ends up on or not, as Go checks them while reading the YAML.
    min_version = _tls_version(section, "min_version", ssl.TLSVersion.TLSv1_2)
    max_version = _tls_version(section, "max_version", ssl.TLSVersion.TLSv1_3)
    cipher_suites = _names(section, "cipher_suites", CIPHER_SUITES, "cipher suite")
    if _names(section, "curve_preferences", CURVES, "curve"):
        _warn_ignored(f"{where}.curve_preferences", "OpenSSL's curves apply")
    prefer = _boolean(section, "prefer_server_cipher_suites", where, default=True)
    if not any(_go_string(section.get(key), f"{where}.{key}") for key in _TLS_SWITCHES):
        if section:
            _warn_ignored(where, "no cert_file: plain HTTP is served")
        return None
    cert = _required_pem(section, "cert", base)
    key = _required_pem(section, "key", base)
    auth_type = _go_string(section.get("client_auth_type"), f"{where}.client_auth_type")
    auth_type = auth_type or "NoClientCert"
    if auth_type not in CLIENT_AUTH_TYPES:
        choices = ", ".join(CLIENT_AUTH_TYPES)
        raise WebConfigError(f"{where}.client_auth_type: {auth_type!r} is not one of {choices}")
    client_ca = _pem(section, "client_ca", base)
    if client_ca is not None and auth_type == "NoClientCert":
        raise WebConfigError(
            f"{where}.client_auth_type: client_ca_file is set but no client certificate is "
            "asked for: use RequireAndVerifyClientCert"
        )
    if CLIENT_AUTH_TYPES[auth_type][1] and client_ca is None:
        # Go would verify against the system's CAs; Python's ssl has none loaded here.
        _warn_ignored(
            f"{where}.client_ca_file", f"none with {auth_type}: no client certificate is accepted"
        )
    if min_version > max_version:
        _warn_ignored(f"{where}.min_version", "above max_version: every TLS handshake fails")
    return TlsServerConfig(
        cert=cert,
        key=key,
        client_auth_type=auth_type,
        client_ca=client_ca,
        min_version=min_version,
        max_version=max_version,
        cipher_suites=cipher_suites,
        prefer_server_cipher_suites=prefer,
        client_allowed_sans=_allowed_sans(section, auth_type),
    )


def _required_pem(section: dict[str, Any], key: str, base: Path) -> Pem:
    pem = _pem(section, key, base)
    if pem is None:
        where = f"tls_server_config.{key}"
        raise WebConfigError(f"{where}_file: is required (or {key}, the PEM text inline)")
    return pem


def _pem(section: dict[str, Any], key: str, base: Path) -> Pem | None:
    """`KEY_file` (a path, checked to be readable) or `KEY` (inline PEM); as in
    exporter-toolkit, the file wins when both are given."""
    where = f"tls_server_config.{key}"
    path = _file(section, f"{key}_file", base)
    text = _go_string(section.get(key), where)
    if path is not None:
        if text:
            _warn_ignored(where, f"{key}_file is set too: the file is used")
        return Pem(file=path)
    return Pem(text=text) if text else None


def _allowed_sans(section: dict[str, Any], auth_type: str) -> frozenset[str] | None:
    where = "tls_server_config.client_allowed_sans"
    value = section.get("client_allowed_sans")
    if value is None:
        return None
    if not isinstance(value, list):
        raise WebConfigError(f"{where}: expected a list of names, got {describe_kind(value)}")
    sans = frozenset(_go_string(item, where) for item in value)
    if auth_type not in _SAN_AUTH_TYPES:
        raise WebConfigError(
            f"{where}: needs client_auth_type RequireAnyClientCert or "
            f"RequireAndVerifyClientCert (a client may send no certificate with {auth_type})"
        )
    if not sans:
        _warn_ignored(where, "an empty list: no client certificate matches, every client fails")
    return sans


def _file(section: dict[str, Any], key: str, base: Path) -> Path | None:
    """The path, made absolute against the web config's directory, after checking it reads."""
    name = f"tls_server_config.{key}"
    value = _go_string(section.get(key), name)
    if not value:
        return None
    path = base / value
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise WebConfigError(f"{name}: cannot read {path}: {error.strerror}") from None
    return path


def _tls_version(section: dict[str, Any], key: str, default: ssl.TLSVersion) -> ssl.TLSVersion:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in TLS_VERSIONS:
        choices = ", ".join(TLS_VERSIONS)
        raise WebConfigError(f"tls_server_config.{key}: {value!r} is not one of {choices}")
    return TLS_VERSIONS[value]


def _names(
    section: dict[str, Any], key: str, known: Mapping[str, Any] | tuple[str, ...], what: str
) -> tuple[str, ...]:
    """A list of names from `known` (a missing or empty list is no list)."""
    where = f"tls_server_config.{key}"
    value = section.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise WebConfigError(f"{where}: expected a list of names, got {describe_kind(value)}")
    for item in value:
        if not isinstance(item, str) or item not in known:
            shown = repr(item)[:80] if isinstance(item, (str, int, float)) else describe_kind(item)
            raise WebConfigError(f"{where}: unknown {what} {shown} (see docs/security.md)")
    return tuple(value)


def _boolean(section: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = section.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise WebConfigError(f"{where}.{key}: expected true or false, got {describe_kind(value)}")
    return value


def _go_string(value: Any, where: str) -> str:
    """A scalar as Go's YAML decoder reads it into a string field (null is "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise WebConfigError(f"{where}: expected a string, got {describe_kind(value)}")


def _http(value: Any) -> tuple[tuple[str, str], ...]:
    where = "http_server_config"
    section = _mapping(value, where, _HTTP_KEYS)
    if "http2" in section:
        _boolean(section, "http2", where, default=True)
        _warn_ignored(f"{where}.http2", "this server speaks HTTP/1.1")
    headers = _mapping(section.get("headers"), f"{where}.headers", ALLOWED_HEADERS)
    checked = []
    for name, raw in headers.items():
        header_value = _go_string(raw, f"{where}.headers.{name}")
        allowed = ALLOWED_HEADERS[name]
        if allowed is not None and header_value not in allowed:
            raise WebConfigError(
                f"{where}.headers.{name}: {header_value[:80]!r} is not one of {', '.join(allowed)}"
            )
        # As Go's net/http writes headers: a line break cannot start a header of its own.
        checked.append((name, re.sub(r"[\r\n]", " ", header_value)))
    return tuple(checked)


def _rate_limit(value: Any) -> RateLimit | None:
    """rate_limit: {interval, burst}; an interval of 0 (or none) turns it off."""
    where = "rate_limit"
    section = _mapping(value, where, _RATE_LIMIT_KEYS)
    interval = _go_duration(section.get("interval"), f"{where}.interval")
    burst = section.get("burst", 0)
    if burst is None:
        burst = 0
    if isinstance(burst, bool) or not isinstance(burst, int):
        raise WebConfigError(f"{where}.burst: expected a whole number, got {describe_kind(burst)}")
    if interval == 0:
        return None
    if interval < 0:
        _warn_ignored(f"{where}.interval", "negative: no limit applies, as in Go")
        return None
    if burst <= 0:
        _warn_ignored(f"{where}.burst", "0 or less: every request but /-/healthy gets 429")
    return RateLimit(interval=interval, burst=burst)


def _go_duration(value: Any, where: str) -> float:
    """Seconds, from a Go duration as Go's YAML decoder reads one: a string such as "1s" or
    "1m30s", or a whole number of nanoseconds."""
    if value is None:
        return 0.0
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 1e-9
    if not isinstance(value, str):
        raise WebConfigError(f"{where}: expected a duration such as 1s, got {describe_kind(value)}")
    sign, body = (-1.0, value[1:]) if value.startswith("-") else (1.0, value.removeprefix("+"))
    if body == "0":
        return 0.0
    parts = _GO_DURATION_PART.findall(body)
    if not body or "".join(number + unit for number, unit in parts) != body:
        raise WebConfigError(f"{where}: {value[:40]!r} is not a duration such as 500ms, 1s, 1m")
    return sign * sum(float(number) * _GO_DURATION_UNITS[unit] for number, unit in parts)


def _users(value: Any) -> dict[str, str]:
    users = _mapping(value, "basic_auth_users", None)
    checked = {}
    for key, raw in users.items():
        user = _go_string(key, "basic_auth_users")
        hashed = _go_string(raw, f"basic_auth_users.{user}")
        problem = _go_bcrypt_problem(hashed)
        if problem is not None:
            raise WebConfigError(f"basic_auth_users.{user}: {problem}")
        if ":" in user or not _BCRYPT_HASH.fullmatch(hashed):
            # Accepted as exporter-toolkit accepts it, but no login can ever match.
            _warn_ignored(f"basic_auth_users.{user}", "this user can never log in")
        checked[user] = hashed
    return checked


def _go_bcrypt_problem(hashed: str) -> str | None:
    """What Go's bcrypt.Cost (exporter-toolkit's check) refuses in a hash, or None."""
    if len(hashed) < 59:
        return "not a bcrypt hash (too short)"
    if hashed[0] != "$":
        return "not a bcrypt hash (it starts with $2b$, $2a$ or $2y$)"
    if hashed[1] > "2":
        return "a bcrypt version newer than 2"
    start = 3 if hashed[2] == "$" else 4
    cost = hashed[start : start + 2]
    if not re.fullmatch(r"[+-]?\d+", cost) or not 4 <= int(cost) <= 31:
        return "the bcrypt cost is not a number from 04 to 31"
    return None


def _load_pair(context: ssl.SSLContext, cert: Pem, key: Pem) -> None:
    try:
        with _pem_path(cert) as cert_path, _pem_path(key) as key_path:
            context.load_cert_chain(cert_path, key_path, password=_no_passphrase)
    except OSError as error:
        names = f"{_pem_key(cert, 'cert')}, {_pem_key(key, 'key')}"
        # OpenSSL's reason only: its text never holds the key's bytes.
        reason = error.strerror if isinstance(error, ssl.SSLError) else str(error)
        raise WebConfigError(
            f"tls_server_config.{names}: cannot load the pair: {reason or error}"
        ) from None


def _load_client_ca(context: ssl.SSLContext, client_ca: Pem) -> None:
    name = f"tls_server_config.{_pem_key(client_ca, 'client_ca')}"
    try:
        if client_ca.file is not None:
            context.load_verify_locations(cafile=client_ca.file)
        else:
            context.load_verify_locations(cadata=client_ca.text)
    except ssl.SSLError:
        # Go skips what it cannot parse; no CA then verifies no client certificate.
        log.warning(
            "web config: the client CA holds no certificate that can be read; "
            "no client certificate will be accepted",
            extra={"key": name},
        )
    except OSError as error:
        raise WebConfigError(f"{name}: {error}") from None


def _pem_key(pem: Pem, key: str) -> str:
    return f"{key}_file" if pem.file is not None else key


@contextlib.contextmanager
def _pem_path(pem: Pem) -> Iterator[str]:
    """A path OpenSSL can read the PEM from: the file, or the inline text in an anonymous
    memory file (nothing written to disk, which may be read-only), or failing that a private
    temporary file removed at once."""
    if pem.file is not None:
        yield str(pem.file)
        return
    data = (pem.text or "").encode()
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        descriptor = os.memfd_create("web-config-pem", os.MFD_CLOEXEC)
        try:
            os.write(descriptor, data)
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    descriptor, path = tempfile.mkstemp(suffix=".pem")  # mode 0600
    try:
        os.write(descriptor, data)
        os.close(descriptor)
        yield path
    finally:
        os.unlink(path)


def _san_checking(allowed: frozenset[str]) -> type[ssl.SSLObject]:
    """An SSLObject class that ends the handshake of a client whose certificate has none of
    the `allowed` subject alternative names, as exporter-toolkit's VerifyPeerCertificate."""

    class SanCheckingObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            if not allowed & _certificate_sans(self.getpeercert()):
                raise ssl.SSLError("the client certificate has none of client_allowed_sans")

    return SanCheckingObject


def _certificate_sans(certificate: dict[str, Any] | None) -> set[str]:
    """The DNS names, e-mail addresses, IP addresses and URIs of a verified certificate,
    written as Go writes them (an IPv6 address compressed, an IPv4-mapped one as IPv4)."""
    sans = set()
    for kind, value in (certificate or {}).get("subjectAltName", ()):
        if kind in ("DNS", "email", "URI"):
            sans.add(value)
        elif kind == "IP Address":
            with contextlib.suppress(ValueError):
                address = ipaddress.ip_address(value.strip())
                mapped = getattr(address, "ipv4_mapped", None)
                sans.add(str(mapped or address))
    return sans


def _apply_cipher_suites(context: ssl.SSLContext, names: tuple[str, ...]) -> None:
    openssl_names = [CIPHER_SUITES[name] for name in names if CIPHER_SUITES[name]]
    if not openssl_names:
        return  # none, or TLS 1.3 suites only: nothing Go would change either
    try:
        context.set_ciphers(":".join(name for name in openssl_names if name))
    except ssl.SSLError:
        _warn_ignored("tls_server_config.cipher_suites", "OpenSSL offers none of them here")


def _mapping(value: Any, where: str, known: Mapping[str, Any] | set[str] | None) -> dict:
    """`value` as a dict (None is empty), refusing any key outside `known` (None: any key).

    `where` is the mapping's dotted key, "" for the top of the file.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        got = describe_kind(value)
        raise WebConfigError(f"{where or 'web config'}: expected a mapping, got {got}")
    for key in value:
        if known is not None and key not in known:
            # A flow-style `{key:-----BEGIN PRIVATE KEY...}` is one key holding the secret.
            name = f"{where}.{shown_key(key)}" if where else shown_key(key)
            known_keys = ", ".join(sorted(known))
            raise WebConfigError(f"{name}: unknown or unsupported key (known: {known_keys})")
    return value


def _warn_ignored(key: str, consequence: str) -> None:
    """A setting exporter-toolkit accepts that this exporter cannot honour as Go would."""
    log.warning(f"web config: {consequence}", extra={"key": key})


def _basic_credentials(header: str | None) -> tuple[str, bytes] | None:
    """(username, password) from `Basic base64(user:password)`, or None if malformed."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
        user, colon, password = decoded.partition(b":")
        return (user.decode(), password) if colon else None
    except ValueError:  # bad base64, non-ASCII header or a username that is not UTF-8
        return None


def _import_bcrypt() -> ModuleType:
    """bcrypt is only needed with basic auth, so it is an extra rather than a dependency."""
    try:
        import bcrypt
    except ImportError:
        raise WebConfigError(
            "basic_auth_users: needs the bcrypt package: "
            "pip install 'trunk-capacity-exporter[auth]'"
        ) from None
    return bcrypt


def _no_passphrase() -> bytes:
    """Instead of OpenSSL prompting on the terminal, which would hang a service."""
    raise WebConfigError("tls_server_config.key_file: is encrypted; give an unencrypted key")
