"""The --web.config.file: TLS, client certificates, basic auth and extra response headers.

The file is in the Prometheus exporter-toolkit format, so one file layout (and `promtool check
web-config`) serves every exporter on a host. Python's ssl and wsgiref cannot do all that Go's
crypto/tls and net/http do: keys only Go can honour are accepted with a warning, so a file
shared with Go exporters still loads. Every problem is one `WebConfigError` line naming the
key, e.g. ``tls_server_config.client_auth_type: 'Sometimes' is not one of ...``.
Relative file paths are relative to the web config file, as in exporter-toolkit; unlike
exporter-toolkit, the file and the certificates are read once, at start-up.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from exporter.yaml_file import describe_kind, parse_yaml, read_text

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
    "VerifyClientCertIfGiven": (ssl.CERT_OPTIONAL, True),
    "RequireAndVerifyClientCert": (ssl.CERT_REQUIRED, True),
}

# The headers exporter-toolkit lets a web config set, with the only values allowed (None: any).
ALLOWED_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

# Keys only Go's TLS and HTTP stacks can honour, with the type each takes: checked, then ignored.
_GO_ONLY: dict[str, dict[str, type]] = {
    "tls_server_config": {
        "cipher_suites": list,
        "curve_preferences": list,
        "prefer_server_cipher_suites": bool,
    },
    "http_server_config": {"http2": bool},
}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file"}
_TLS_KEYS |= {"min_version", "max_version", *_GO_ONLY["tls_server_config"]}
_HTTP_KEYS = {"headers", *_GO_ONLY["http_server_config"]}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}

# A bcrypt hash as bcrypt itself accepts it: the salt's last character carries only 2 bits.
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}")
# bcrypt reads only this many bytes; longer passwords are refused rather than truncated.
BCRYPT_MAX_PASSWORD = 72
REALM = "trunk-capacity-exporter"


class WebConfigError(Exception):
    """A web config problem, worded as the one line the operator will read."""


@dataclass(frozen=True)
class TlsServerConfig:
    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True)
class WebConfig:
    tls: TlsServerConfig | None = None
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth_users: Mapping[str, str] = field(default_factory=dict, repr=False)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A fresh server context, or None for plain HTTP; reads the certificate files now."""
        if self.tls is None:
            return None
        tls = self.tls
        # Not create_default_context(): it would trust the system CAs for client certificates.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = tls.min_version
        context.maximum_version = tls.max_version
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file, password=_no_passphrase)
        except OSError as error:
            raise WebConfigError(
                f"tls_server_config.cert_file, key_file: cannot load the pair: {error}"
            ) from None
        if tls.client_ca_file is not None:
            try:
                context.load_verify_locations(cafile=tls.client_ca_file)
            except OSError as error:
                raise WebConfigError(f"tls_server_config.client_ca_file: {error}") from None
        context.verify_mode = CLIENT_AUTH_TYPES[tls.client_auth_type][0]
        return context

    def basic_auth(self) -> BasicAuth | None:
        return BasicAuth(self.basic_auth_users) if self.basic_auth_users else None


class BasicAuth:
    """HTTP basic auth against bcrypt hashes, checked the way exporter-toolkit checks them.

    bcrypt is slow on purpose, so a right answer is remembered as (username, sha256(password)):
    Prometheus scraping every few seconds pays for bcrypt once, and no password is kept. Only
    successes are remembered, so guessing cannot grow the cache. checkpw runs outside any lock
    and bcrypt releases the GIL, so one client's check never holds up another client.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self._bcrypt = _import_bcrypt()
        self._hashes = {user: hashed.encode() for user, hashed in users.items()}
        # An unknown user is checked against a real hash: timing must not tell who exists.
        self._decoy = next(iter(self._hashes.values()))
        # Set lookups and adds are atomic, so the worker threads share this without a lock.
        self._verified: set[tuple[str, bytes]] = set()

    def check(self, authorization_header: str | None) -> bool:
        credentials = _basic_credentials(authorization_header)
        if credentials is None:
            return False
        user, password = credentials
        if len(password) > BCRYPT_MAX_PASSWORD:
            return False
        key = (user, hashlib.sha256(password).digest())
        if key in self._verified:
            return True
        matches = self._bcrypt.checkpw(password, self._hashes.get(user, self._decoy))
        if not (matches and user in self._hashes):
            return False
        self._verified.add(key)
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
    )
    config.ssl_context()
    config.basic_auth()
    return config


def _tls(value: Any, base: Path) -> TlsServerConfig | None:
    where = "tls_server_config"
    section = _mapping(value, where, _TLS_KEYS)
    if not section:
        return None
    _warn_go_only(section, where)
    cert_file = _required_file(section, "cert_file", base)
    key_file = _required_file(section, "key_file", base)
    auth_type = section.get("client_auth_type", "NoClientCert")
    if not isinstance(auth_type, str) or auth_type not in CLIENT_AUTH_TYPES:
        choices = ", ".join(CLIENT_AUTH_TYPES)
        raise WebConfigError(f"{where}.client_auth_type: {auth_type!r} is not one of {choices}")
    ca_file = _file(section, "client_ca_file", base)
    if CLIENT_AUTH_TYPES[auth_type][1] and ca_file is None:
        raise WebConfigError(f"{where}.client_ca_file: required with client_auth_type {auth_type}")
    if ca_file is not None and auth_type == "NoClientCert":
        raise WebConfigError(
            f"{where}.client_auth_type: client_ca_file is set but no client certificate is "
            "asked for: use RequireAndVerifyClientCert"
        )
    config = TlsServerConfig(
        cert_file=cert_file,
        key_file=key_file,
        client_auth_type=auth_type,
        client_ca_file=ca_file,
        min_version=_tls_version(section, "min_version", ssl.TLSVersion.TLSv1_2),
        max_version=_tls_version(section, "max_version", ssl.TLSVersion.TLSv1_3),
    )
    if config.min_version > config.max_version:
        raise WebConfigError(f"{where}.min_version: is above max_version")
    return config


def _required_file(section: dict[str, Any], key: str, base: Path) -> Path:
    path = _file(section, key, base)
    if path is None:
        raise WebConfigError(f"tls_server_config.{key}: is required")
    return path


def _file(section: dict[str, Any], key: str, base: Path) -> Path | None:
    """The path, made absolute against the web config's directory, after checking it reads."""
    value = section.get(key)
    name = f"tls_server_config.{key}"
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise WebConfigError(f"{name}: expected a file name, got {describe_kind(value)}")
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


def _http(value: Any) -> tuple[tuple[str, str], ...]:
    where = "http_server_config"
    section = _mapping(value, where, _HTTP_KEYS)
    _warn_go_only(section, where)
    headers = _mapping(section.get("headers"), f"{where}.headers", ALLOWED_HEADERS)
    for name, header_value in headers.items():
        allowed = ALLOWED_HEADERS[name]
        if not isinstance(header_value, str) or re.search(r"[\r\n]", header_value):
            raise WebConfigError(f"{where}.headers.{name}: expected a one-line string")
        if allowed is not None and header_value not in allowed:
            raise WebConfigError(
                f"{where}.headers.{name}: {header_value!r} is not one of {', '.join(allowed)}"
            )
    return tuple(headers.items())


def _users(value: Any) -> dict[str, str]:
    users = _mapping(value, "basic_auth_users", None)
    for user, hashed in users.items():
        if not isinstance(user, str) or not user or ":" in user:
            raise WebConfigError(
                f"basic_auth_users: username {user!r} must be a non-empty string without ':'"
            )
        match = _BCRYPT_HASH.fullmatch(hashed) if isinstance(hashed, str) else None
        if match is None or not 4 <= int(match.group(1)) <= 31:
            raise WebConfigError(
                f"basic_auth_users.{user}: not a bcrypt hash ($2b$, $2a$ or $2y$, cost 04-31)"
            )
    return users


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
            name = f"{where}.{key}" if where else str(key)
            known_keys = ", ".join(sorted(known))
            raise WebConfigError(f"{name}: unknown or unsupported key (known: {known_keys})")
    return value


def _warn_go_only(section: dict[str, Any], where: str) -> None:
    for key, kind in _GO_ONLY[where].items():
        if key not in section:
            continue
        value: Any = section[key]
        if kind is list:
            well_typed = isinstance(value, list) and all(isinstance(item, str) for item in value)
        else:
            well_typed = isinstance(value, kind)
        if not well_typed:
            expected = "a list of names" if kind is list else "true or false"
            raise WebConfigError(f"{where}.{key}: expected {expected}, got {describe_kind(value)}")
        log.warning(
            "web config key ignored: only Go's TLS and HTTP stacks can honour it; "
            "OpenSSL's and wsgiref's defaults apply",
            extra={"key": f"{where}.{key}"},
        )


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
