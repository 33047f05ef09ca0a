"""--web.config.file: TLS, mutual TLS, basic auth and headers, end to end on loopback.

Certificates come from the `pki` fixture (tests/pki.py): a CA, a server certificate for
127.0.0.1, client certificates from the CA (two with subject alternative names) and a
self-signed "stranger" client certificate.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests

from exporter.cli import WebSecurity, main, warn_about_open_access
from exporter.scrape.running import Exporter
from exporter.serving.listen import parse_listen_address
from exporter.serving.rate_limit import RateLimit, TokenBucket
from exporter.serving.web_config import (
    VERIFIED_CACHE_SIZE,
    BasicAuth,
    WebConfig,
    WebConfigError,
    load_web_config,
)
from simulator import Simulator
from tests.helpers import serving as serve_exporter
from tests.helpers import (
    simulator_config,
    tls_section,
    web_config,
    write_web_config,
)
from tests.pki import Pki
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "web-config.example.yml"
CHALLENGE = 'Basic realm="trunk-capacity-exporter"'


def bcrypt_hash(password: str, cost: int = 4) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


@contextmanager
def serving(simulator: Simulator, web: WebConfig, handshake_timeout: float = 5.0) -> Iterator[str]:
    """The exporter's real server with `web` applied, on a free loopback port; its base URL."""
    with serve_exporter(
        Exporter(simulator_config(simulator)), web=web, handshake_timeout=handshake_timeout
    ) as url:
        yield url


def tls_client(pki: Pki, url: str, maximum: ssl.TLSVersion | None = None) -> str:
    """Handshake with the server at `url` and return the negotiated TLS version."""
    context = ssl.create_default_context(cafile=pki.ca)
    if maximum is not None:
        context.maximum_version = maximum
    port = int(url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


def test_https_with_the_ca_serves_metrics_and_plain_http_is_refused(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    with serving(simulator, web_config(tmp_path, tls_section(pki))) as url:
        response = requests.get(f"{url}/metrics", verify=pki.ca, timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url.replace("https://", "http://") + "/-/healthy", timeout=5)
    assert response.status_code == 200
    assert 'odin_up{target="odin-demo"} 1.0' in response.text


def test_mutual_tls_accepts_only_clients_with_a_certificate_from_the_client_ca(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    web = web_config(
        tmp_path,
        tls_section(pki, client_auth_type="RequireAndVerifyClientCert", client_ca_file=pki.ca),
    )
    with serving(simulator, web) as url:
        healthy = f"{url}/-/healthy"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(healthy, verify=pki.ca, timeout=5)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(healthy, verify=pki.ca, cert=pki.client("stranger"), timeout=5)
        response = requests.get(healthy, verify=pki.ca, cert=pki.client(), timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("client_auth_type", "verify_mode"),
    [
        ("NoClientCert", ssl.CERT_NONE),
        ("RequestClientCert", ssl.CERT_NONE),
        ("RequireAnyClientCert", ssl.CERT_REQUIRED),
        ("VerifyClientCertIfGiven", ssl.CERT_OPTIONAL),
        ("RequireAndVerifyClientCert", ssl.CERT_REQUIRED),
    ],
)
def test_client_auth_types_map_to_what_python_ssl_can_do(
    tmp_path: Path, pki: Pki, client_auth_type: str, verify_mode: ssl.VerifyMode
) -> None:
    ca = {} if verify_mode == ssl.CERT_NONE else {"client_ca_file": pki.ca}
    web = web_config(tmp_path, tls_section(pki, client_auth_type=client_auth_type, **ca))
    context = web.ssl_context()
    assert context is not None
    assert context.verify_mode == verify_mode


@pytest.mark.slow
def test_min_version_tls13_refuses_a_tls12_only_client(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    with serving(simulator, web_config(tmp_path, tls_section(pki))) as url:
        assert tls_client(pki, url, maximum=ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with serving(simulator, web_config(tmp_path, tls_section(pki, min_version="TLS13"))) as url:
        assert tls_client(pki, url) == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            tls_client(pki, url, maximum=ssl.TLSVersion.TLSv1_2)


def test_basic_auth_guards_every_path_and_never_says_what_was_wrong(
    simulator: Simulator, tmp_path: Path
) -> None:
    web = web_config(tmp_path, {"basic_auth_users": {"prometheus": bcrypt_hash("s3cret")}})
    refused = {
        "missing": {},
        "wrong password": {"auth": ("prometheus", "guess")},
        "unknown user": {"auth": ("admin", "s3cret")},
        "not basic": {"headers": {"Authorization": "Bearer s3cret"}},
        "bad base64": {"headers": {"Authorization": "Basic !!!"}},
    }
    with serving(simulator, web) as url:
        right = requests.get(f"{url}/-/healthy", auth=("prometheus", "s3cret"), timeout=5)
        answers = {
            case: requests.get(f"{url}/-/healthy", timeout=5, **kwargs)
            for case, kwargs in refused.items()
        }
        unknown_path = requests.get(f"{url}/nope", timeout=5)
    assert right.status_code == 200
    for case, answer in [*answers.items(), ("unknown path", unknown_path)]:
        assert answer.status_code == 401, case
        assert answer.headers["WWW-Authenticate"] == CHALLENGE, case
        assert answer.text == "unauthorized\n", case
    assert simulator.stats.count("odin") == 0


def test_right_credentials_pay_for_bcrypt_once_and_wrong_ones_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = web_config(tmp_path, {"basic_auth_users": {"u": bcrypt_hash("pw")}}).basic_auth()
    assert auth is not None
    calls = count_checkpw(monkeypatch)
    assert all(auth.check(basic("u", "pw")) for _ in range(3))
    assert len(calls) == 1
    assert not any(auth.check(basic("u", "nope")) for _ in range(2))
    assert len(calls) == 3
    assert not auth.check(basic("u", "pw" + "x" * 80))  # beyond bcrypt's 72 bytes
    assert len(calls) == 3


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def count_checkpw(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return calls


def test_two_clients_run_their_bcrypt_checks_in_parallel(
    simulator: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {"a": bcrypt_hash("pa"), "b": bcrypt_hash("pb")}
    web = web_config(tmp_path, {"basic_auth_users": users})
    # Each check waits for the other to start: serialised checks would break the barrier.
    barrier = threading.Barrier(2, timeout=5)
    wrap_checkpw(monkeypatch, before=barrier.wait)
    statuses: dict[str, int] = {}
    with serving(simulator, web) as url:

        def scrape(user: str) -> None:
            response = requests.get(f"{url}/-/healthy", auth=(user, f"p{user}"), timeout=10)
            statuses[user] = response.status_code

        clients = [threading.Thread(target=scrape, args=(user,)) for user in users]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=10)
    assert statuses == {"a": 200, "b": 200}
    assert not barrier.broken


@pytest.mark.slow
def test_a_slow_bcrypt_check_does_not_stall_a_client_already_verified(
    simulator: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {"fast": bcrypt_hash("pw"), "slow": bcrypt_hash("pw", cost=13)}
    web = web_config(tmp_path, {"basic_auth_users": users})
    started, finished = threading.Event(), threading.Event()
    with serving(simulator, web) as url:
        healthy = f"{url}/-/healthy"
        assert requests.get(healthy, auth=("fast", "pw"), timeout=5).status_code == 200
        wrap_checkpw(monkeypatch, before=started.set, after=finished.set)
        slow = threading.Thread(
            target=requests.get, args=(healthy,), kwargs={"auth": ("slow", "x"), "timeout": 10}
        )
        slow.start()
        # Set inside the checkpw call: bcrypt at cost 13 is hundreds of milliseconds from done.
        assert started.wait(timeout=5)
        cached = requests.get(healthy, auth=("fast", "pw"), timeout=5)
        answered_during_check = not finished.is_set()
        slow.join(timeout=10)
    assert cached.status_code == 200
    assert answered_during_check, "a cached client waited for another client's bcrypt check"


def wrap_checkpw(
    monkeypatch: pytest.MonkeyPatch,
    before: Callable[[], object],
    after: Callable[[], object] = lambda: None,
) -> None:
    real = bcrypt.checkpw

    def wrapped(password: bytes, hashed: bytes) -> bool:
        before()
        try:
            return real(password, hashed)
        finally:
            after()

    monkeypatch.setattr(bcrypt, "checkpw", wrapped)


@pytest.mark.slow
def test_a_silent_client_neither_blocks_others_nor_keeps_its_connection(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    web = web_config(tmp_path, tls_section(pki))
    with serving(simulator, web, handshake_timeout=1.0) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
            started = time.monotonic()
            response = requests.get(f"{url}/-/healthy", verify=pki.ca, timeout=3)
            served_in = time.monotonic() - started
            closed = silent.recv(1) == b""  # waits for the server to give up on it
            dropped_after = time.monotonic() - started
    assert response.status_code == 200
    assert served_in < 1.0
    assert closed
    assert 0.5 < dropped_after < 4.0


def test_headers_are_added_and_go_only_keys_are_ignored_with_a_warning(
    simulator: Simulator, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    document = tls_section(pki, curve_preferences=["X25519", "CurveP256"])
    document["tls_server_config"]["prefer_server_cipher_suites"] = False
    document["http_server_config"] = {
        "http2": False,
        "headers": {"X-Frame-Options": "deny", "Strict-Transport-Security": "max-age=60"},
    }
    document["basic_auth_users"] = {"u": bcrypt_hash("pw")}
    with caplog.at_level(logging.WARNING, logger="exporter.serving.web_config"):
        web = web_config(tmp_path, document)
    ignored = {getattr(record, "key", None) for record in caplog.records}
    assert ignored == {"tls_server_config.curve_preferences", "http_server_config.http2"}
    with serving(simulator, web) as url:
        ok = requests.get(f"{url}/-/healthy", verify=pki.ca, auth=("u", "pw"), timeout=5)
        refused = requests.get(f"{url}/-/healthy", verify=pki.ca, timeout=5)
        malformed = raw_tls_answer(pki, url, b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n")
    for response in (ok, refused):
        assert response.headers["X-Frame-Options"] == "deny"
        assert response.headers["Strict-Transport-Security"] == "max-age=60"
    assert (ok.status_code, refused.status_code) == (200, 401)
    # Refused by the server before any app sees it, and still with the configured headers.
    assert malformed.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nX-Frame-Options: deny\r\n" in malformed
    assert b"\r\nStrict-Transport-Security: max-age=60\r\n" in malformed


def raw_tls_answer(pki: Pki, url: str, request: bytes) -> bytes:
    """What the server at `url` answers to `request` sent as is, until it closes."""
    context = ssl.create_default_context(cafile=pki.ca)
    port = int(url.rsplit(":", 1)[1])
    answer = b""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


TLS = "tls_server_config"
HEADERS = "http_server_config.headers"


def tls(**settings: object) -> dict[str, Any]:
    """A tls_server_config with placeholders CERT and KEY, overridden by `settings`."""
    return {TLS: {"cert_file": "CERT", "key_file": "KEY", **settings}}


def header(name: str, value: str) -> dict[str, Any]:
    return {"http_server_config": {"headers": {name: value}}}


@pytest.mark.parametrize(
    ("key", "document"),
    [
        ("basic_auth", {**tls(), "basic_auth": {}}),
        (f"{TLS}.client_allowed_sans", tls(client_allowed_sans=["a"])),
        (f"{TLS}.cert_file", tls(cert_file="absent.crt")),
        (f"{TLS}.cert_file", tls(cert_file=None)),
        (f"{TLS}.client_auth_type", tls(client_auth_type="Sometimes")),
        (f"{TLS}.client_auth_type", tls(client_ca_file="CA")),
        (f"{TLS}.min_version", tls(min_version="TLS1.3")),
        (f"{TLS}.cipher_suites", tls(cipher_suites="TLS_AES_128_GCM_SHA256")),
        (f"{TLS}.cert_file, key_file", tls(key_file="CA_KEY")),
        (f"{HEADERS}.X-Powered-By", header("X-Powered-By", "me")),
        (f"{HEADERS}.X-Frame-Options", header("X-Frame-Options", "allow")),
        ("basic_auth_users.prometheus", {"basic_auth_users": {"prometheus": "s3cret"}}),
        ("basic_auth_users.prometheus", {"basic_auth_users": {"prometheus": "$3b$10$" + "v" * 53}}),
        ("basic_auth_users", {"basic_auth_users": ["prometheus"]}),
    ],
)
def test_a_bad_web_config_is_one_line_naming_the_key(
    tmp_path: Path, pki: Pki, key: str, document: dict[str, Any]
) -> None:
    """CERT, KEY, CA and CA_KEY stand for the real files; the rest is wrong on purpose."""
    real = {"CERT": pki.server_crt, "KEY": pki.server_key, "CA": pki.ca}
    real["CA_KEY"] = pki.path("ca.key")  # a key, but not the server certificate's
    if TLS in document:
        settings = document[TLS].items()
        document = {**document, TLS: {k: real.get(str(v), v) for k, v in settings}}
    with pytest.raises(WebConfigError) as caught:
        web_config(tmp_path, document)
    message = str(caught.value)
    assert message.startswith(f"{key}: "), message
    assert "\n" not in message
    assert "s3cret" not in message


def test_missing_bcrypt_is_a_config_error_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # import bcrypt now raises ImportError
    with pytest.raises(WebConfigError, match=r"trunk-capacity-exporter\[auth\]"):
        web_config(tmp_path, {"basic_auth_users": {"u": bcrypt_hash("pw")}})


def test_cli_exits_2_with_one_line_for_a_bad_web_config(
    tmp_path: Path, pki: Pki, processes: Processes
) -> None:
    path = write_web_config(tmp_path, tls_section(pki, client_auth_type="Sometimes"))
    cli = processes.exporter("--demo", "--log.level=error", f"--web.config.file={path}")
    stderr = cli.stderr
    assert cli.returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("web config error: tls_server_config.client_auth_type: ")


@pytest.mark.parametrize(
    ("address", "secured", "warned"),
    [
        ("0.0.0.0:10042", "nothing", True),
        ("[::]:10042", "nothing", True),
        ("192.0.2.7:10042", "nothing", True),
        ("0.0.0.0:10042", "tls", False),
        ("0.0.0.0:10042", "basic auth", False),
        ("127.0.0.1:10042", "nothing", False),
        ("localhost:10042", "nothing", False),
        ("[::1]:10042", "nothing", False),
    ],
)
def test_open_access_is_warned_about_only_beyond_loopback_without_tls_and_basic_auth(
    tmp_path: Path,
    pki: Pki,
    caplog: pytest.LogCaptureFixture,
    address: str,
    secured: str,
    warned: bool,
) -> None:
    """The start-up warning's decision, on addresses that are parsed, never bound: a test
    binds loopback only."""
    web = WebSecurity(
        ssl_context=load_web_config(write_web_config(tmp_path, tls_section(pki))).ssl_context()
        if secured == "tls"
        else None,
        auth=BasicAuth({"u": bcrypt_hash("pw")}) if secured == "basic auth" else None,
        headers=(),
        rate_limiter=None,
    )
    with caplog.at_level(logging.WARNING, logger="exporter"):
        warn_about_open_access([parse_listen_address(address)], web)
    assert ("listening beyond loopback without TLS" in caplog.text) == warned


def test_the_example_passes_promtool_and_loads(
    tmp_path: Path, pki: Pki, processes: Processes, promtool: str
) -> None:
    text = EXAMPLE.read_text()
    assert "/etc/trunk-capacity-exporter/tls/" in text
    for name in ("server.crt", "server.key"):
        shutil.copy(pki.directory / name, tmp_path / name)
    copy = tmp_path / "web-config.yml"
    copy.write_text(text.replace("/etc/trunk-capacity-exporter/tls/", f"{tmp_path}/"))
    web = load_web_config(copy)
    assert web.tls is not None and web.tls.min_version == ssl.TLSVersion.TLSv1_2
    assert web.ssl_context() is not None
    assert web.basic_auth() is not None
    assert ("X-Content-Type-Options", "nosniff") in web.headers
    check = processes.run([promtool, "check", "web-config", str(copy)], timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout + check.stderr


# --- Parity with `promtool check web-config` ------------------------------------------------
# Each file is checked by promtool and by `--config.check`: both accept it or both refuse it.
# {cert} {key} {ca}: the server pair and the CA, as paths relative to the web config;
# {other_key}: a key that does not match {cert}; {garbage}: a file that is not PEM;
# {hash}: a real bcrypt hash; {tail}: its 53 characters after "$2b$04$".

T = "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
PARITY: list[tuple[str, str, bool]] = [
    ("empty file", "", True),
    ("only a comment", "# nothing here\n", True),
    ("empty tls section", "tls_server_config: {{}}\n", True),
    ("null tls section", "tls_server_config:\n", True),
    ("tls", T, True),
    ("tls relative to the file", T, True),
    ("unknown top key", "foo: 1\n", False),
    ("unknown tls key", T + "  client_cert_file: a.pem\n", False),
    ("top level is a list", "- a\n", False),
    ("top level is a string", "hello\n", False),
    ("YAML syntax error", "tls_server_config: [\n", False),
    ("missing cert file", "tls_server_config:\n  cert_file: nope.pem\n  key_file: {key}\n", False),
    ("cert without key", "tls_server_config:\n  cert_file: {cert}\n", False),
    ("empty cert_file", "tls_server_config:\n  cert_file: ''\n  key_file: {key}\n", False),
    ("key and cert swapped", "tls_server_config:\n  cert_file: {key}\n  key_file: {cert}\n", False),
    (
        "key of another pair",
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {other_key}\n",
        False,
    ),
    ("only client_auth_type", "tls_server_config:\n  client_auth_type: NoClientCert\n", False),
    ("only min_version: TLS stays off", "tls_server_config:\n  min_version: TLS13\n", True),
    ("only cipher_suites", "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", True),
    ("min above max", T + "  min_version: TLS13\n  max_version: TLS12\n", True),
    ("TLS10 allowed", T + "  min_version: TLS10\n", True),
    ("version spelled TLS1.3", T + "  max_version: TLS1.3\n", False),
    ("version as a number", T + "  min_version: 12\n", False),
    (
        "verify with a CA",
        T + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\n",
        True,
    ),
    ("verify without a CA", T + "  client_auth_type: RequireAndVerifyClientCert\n", True),
    (
        "old RequireClientCert name",
        T + "  client_auth_type: RequireClientCert\n  client_ca_file: {ca}\n",
        True,
    ),
    (
        "auth type lower case",
        T + "  client_auth_type: requireandverifyclientcert\n  client_ca_file: {ca}\n",
        False,
    ),
    ("unknown auth type", T + "  client_auth_type: Sometimes\n", False),
    ("CA without auth type", T + "  client_ca_file: {ca}\n", False),
    (
        "CA with NoClientCert",
        T + "  client_auth_type: NoClientCert\n  client_ca_file: {ca}\n",
        False,
    ),
    (
        "CA file missing",
        T + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nope.pem\n",
        False,
    ),
    (
        "CA file not PEM",
        T + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {garbage}\n",
        True,
    ),
    (
        "secure TLS 1.2 suites",
        T + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA,"
        " TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n",
        True,
    ),
    ("TLS 1.3 suite", T + "  cipher_suites: [TLS_CHACHA20_POLY1305_SHA256]\n", True),
    ("empty suite list", T + "  cipher_suites: []\n", True),
    ("RC4 suite", T + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", False),
    ("3DES suite", T + "  cipher_suites: [TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA]\n", False),
    ("CBC-SHA256 suite", T + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]\n", False),
    ("old ChaCha name", T + "  cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]\n", False),
    ("OpenSSL suite name", T + "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n", False),
    ("suite as a number", T + "  cipher_suites: [5]\n", False),
    ("suites as a string", T + "  cipher_suites: TLS_AES_128_GCM_SHA256\n", False),
    ("every curve", T + "  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n", True),
    ("curve P256", T + "  curve_preferences: [P256]\n", False),
    ("curve secp384r1", T + "  curve_preferences: [secp384r1]\n", False),
    ("curve X25519MLKEM768", T + "  curve_preferences: [X25519MLKEM768]\n", False),
    ("prefer_server_cipher_suites", T + "  prefer_server_cipher_suites: false\n", True),
    ("prefer as a number", T + "  prefer_server_cipher_suites: 1\n", False),
    ("http2 yes", "http_server_config:\n  http2: yes\n", True),
    ("http2 quoted", "http_server_config:\n  http2: 'yes'\n", False),
    (
        "allowed headers",
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    Strict-Transport-Security: max-age=31536000\n",
        True,
    ),
    (
        "header as a number",
        "http_server_config:\n  headers:\n    Strict-Transport-Security: 5\n",
        True,
    ),
    ("header empty", "http_server_config:\n  headers:\n    Content-Security-Policy:\n", True),
    ("header not allowed", "http_server_config:\n  headers:\n    Server: x\n", False),
    ("header in lower case", "http_server_config:\n  headers:\n    x-frame-options: deny\n", False),
    (
        "header value not allowed",
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
        False,
    ),
    ("header as a list", "http_server_config:\n  headers:\n    X-XSS-Protection: [a]\n", False),
    ("bcrypt user", "basic_auth_users:\n  prometheus: {hash}\n", True),
    ("no users", "basic_auth_users: {{}}\n", True),
    ("users as a list", "basic_auth_users: [a]\n", False),
    ("plain password", "basic_auth_users:\n  a: s3cret\n", False),
    ("null password", "basic_auth_users:\n  a:\n", False),
    ("cost 03", "basic_auth_users:\n  a: $2b$03${tail}\n", False),
    ("cost 32", "basic_auth_users:\n  a: $2b$32${tail}\n", False),
    ("version 3", "basic_auth_users:\n  a: $3b$04${tail}\n", False),
    ("version $2x$", "basic_auth_users:\n  a: $2x$04${tail}\n", True),
    ("hash of 59 characters", "basic_auth_users:\n  a: '{short}'\n", True),
    ("salt that is not base64", "basic_auth_users:\n  a: $2b$04${bang}\n", True),
    ("user with a colon", "basic_auth_users:\n  'a:b': {hash}\n", True),
    ("numeric user", "basic_auth_users:\n  1: {hash}\n", True),
]


@pytest.fixture(scope="module")
def parity_files(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("parity")
    for name in ("server.crt", "server.key", "ca.crt", "client.key"):
        shutil.copy(pki.directory / name, directory / name)
    (directory / "garbage.pem").write_text("not a certificate\n")
    (directory / "config.yml").write_text(
        "odin:\n  - name: odin\n    url: https://odin.example.com/api/v2\n"
        "    username: u\n    password: p\n    service_providers: [a]\n"
    )
    hashed = bcrypt_hash("pw")
    return {
        "directory": str(directory),
        "cert": "server.crt",
        "key": "server.key",
        "ca": "ca.crt",
        "other_key": "client.key",
        "garbage": "garbage.pem",
        "hash": hashed,
        "tail": hashed[7:],
        "short": hashed[:59],
        "bang": "!" * 53,
    }


def test_the_parity_table_is_large_and_has_both_outcomes() -> None:
    assert len(PARITY) >= 30
    assert {accepted for _, _, accepted in PARITY} == {True, False}
    assert len({name for name, _, _ in PARITY}) == len(PARITY)


def parity_file(parity_files: dict[str, str], name: str, template: str) -> Path:
    path = Path(parity_files["directory"]) / f"{name.replace(' ', '-')}.yml"
    path.write_text(template.format(**parity_files))
    return path


# The table's verdicts are promtool's: the first test holds promtool to them (a process per
# file, so slow), the second holds --config.check to them (in this process).
@pytest.mark.parametrize(("name", "template", "accepted"), PARITY, ids=[p[0] for p in PARITY])
def test_promtool_refuses_exactly_what_the_table_says(
    parity_files: dict[str, str],
    processes: Processes,
    promtool: str,
    name: str,
    template: str,
    accepted: bool,
) -> None:
    path = parity_file(parity_files, name, template)
    check = processes.run([promtool, "check", "web-config", str(path)], timeout=30)
    assert (check.returncode == 0) == accepted, f"promtool: {check.stdout}{check.stderr}"


@pytest.mark.parametrize(("name", "template", "accepted"), PARITY, ids=[p[0] for p in PARITY])
def test_config_check_refuses_exactly_what_promtool_refuses(
    parity_files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    name: str,
    template: str,
    accepted: bool,
) -> None:
    path = parity_file(parity_files, name, template)
    status = main(
        [
            "--log.level=error",
            "--config.check",
            f"--config.file={Path(parity_files['directory']) / 'config.yml'}",
            f"--web.config.file={path}",
        ]
    )
    stderr = capsys.readouterr().err
    assert (status == 0) == accepted, stderr
    if not accepted:
        assert status == 2
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("web config error: "), stderr
        assert "s3cret" not in stderr


def test_cipher_suites_are_honoured_up_to_tls_1_2(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    document = tls_section(pki, cipher_suites=["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"])
    with serving(simulator, web_config(tmp_path, document)) as url:
        port = int(url.rsplit(":", 1)[1])

        def negotiated(ciphers: str) -> str | None:
            context = ssl.create_default_context(cafile=pki.ca)
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(ciphers)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                try:
                    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        cipher = tls.cipher()
                        return cipher[0] if cipher else None
                except ssl.SSLError:
                    return None

        assert negotiated("ECDHE-ECDSA-AES128-GCM-SHA256") is None
        assert negotiated("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256") == (
            "ECDHE-ECDSA-AES256-GCM-SHA384"
        )
        assert tls_client(pki, url) == "TLSv1.3"  # TLS 1.3 suites are not configurable


# --- The current exporter-toolkit format, beyond what Debian's promtool knows ---------------
# Inline cert, key and client_ca; client_allowed_sans; rate_limit. Debian's promtool (2.42)
# refuses each as an unknown key, so these files are held to exporter-toolkit's docs and code
# (docs/security.md names the version) by --config.check alone.

CURRENT_FORMAT: list[tuple[str, str, bool]] = [
    ("inline cert and key", "tls_server_config:\n  cert: |\n{cert_pem}  key: |\n{key_pem}", True),
    ("inline cert, key file", "tls_server_config:\n  cert: |\n{cert_pem}  key_file: {key}\n", True),
    ("inline cert without key", "tls_server_config:\n  cert: |\n{cert_pem}", False),
    (
        "inline key of another pair",
        "tls_server_config:\n  cert: |\n{cert_pem}  key: |\n{other_pem}",
        False,
    ),
    ("cert and cert_file: the file wins", T + "  cert: not a certificate\n", True),
    (
        "inline client CA",
        T + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |\n{ca_pem}",
        True,
    ),
    ("inline client CA without auth type", T + "  client_ca: |\n{ca_pem}", False),
    (
        "allowed SANs with verification",
        T + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\n"
        "  client_allowed_sans: [prometheus.example]\n",
        True,
    ),
    (
        "allowed SANs with any certificate",
        T + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: {ca}\n"
        "  client_allowed_sans: [prometheus.example]\n",
        True,
    ),
    (
        "allowed SANs when a certificate is optional",
        T + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {ca}\n"
        "  client_allowed_sans: [prometheus.example]\n",
        False,
    ),
    (
        "allowed SANs without client auth",
        T + "  client_allowed_sans: [prometheus.example]\n",
        False,
    ),
    (
        "allowed SANs as a string",
        T + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\n"
        "  client_allowed_sans: prometheus.example\n",
        False,
    ),
    ("rate limit", "rate_limit:\n  interval: 1s\n  burst: 20\n", True),
    ("rate limit compound interval", "rate_limit:\n  interval: 1m30.5s\n  burst: 1\n", True),
    ("rate limit off", "rate_limit:\n  interval: 0\n  burst: 5\n", True),
    ("rate limit empty", "rate_limit: {{}}\n", True),
    ("rate limit in days", "rate_limit:\n  interval: 1d\n  burst: 5\n", False),
    ("rate limit with a space", "rate_limit:\n  interval: 1 s\n  burst: 5\n", False),
    ("rate limit burst as text", "rate_limit:\n  interval: 1s\n  burst: many\n", False),
    ("rate limit as a list", "rate_limit: [1s, 5]\n", False),
    ("rate limit unknown key", "rate_limit:\n  interval: 1s\n  period: 5\n", False),
]


def indented_pem(path: str) -> str:
    return "".join(f"    {line}\n" for line in Path(path).read_text().splitlines())


@pytest.fixture(scope="module")
def current_format_files(parity_files: dict[str, str], pki: Pki) -> dict[str, str]:
    return {
        **parity_files,
        "cert_pem": indented_pem(pki.server_crt),
        "key_pem": indented_pem(pki.server_key),
        "other_pem": indented_pem(pki.path("client.key")),
        "ca_pem": indented_pem(pki.ca),
    }


@pytest.mark.parametrize(
    ("name", "template", "accepted"), CURRENT_FORMAT, ids=[c[0] for c in CURRENT_FORMAT]
)
def test_config_check_follows_the_current_exporter_toolkit_format(
    current_format_files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    name: str,
    template: str,
    accepted: bool,
) -> None:
    path = parity_file(current_format_files, name, template)
    status = main(
        [
            "--log.level=error",
            "--config.check",
            f"--config.file={Path(current_format_files['directory']) / 'config.yml'}",
            f"--web.config.file={path}",
        ]
    )
    stderr = capsys.readouterr().err
    assert (status == 0) == accepted, stderr
    if not accepted:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("web config error: "), stderr
        pem_lines = "".join(current_format_files[k] for k in ("key_pem", "other_pem")).split()
        assert not [line for line in pem_lines if len(line) > 16 and line in stderr]


def test_inline_cert_key_and_client_ca_serve_mutual_tls(
    simulator: Simulator, tmp_path: Path, pki: Pki
) -> None:
    key_text = Path(pki.server_key).read_text()
    document = {
        TLS: {
            "cert": Path(pki.server_crt).read_text(),
            "key": key_text,
            "client_ca": Path(pki.ca).read_text(),
            "client_auth_type": "RequireAndVerifyClientCert",
        }
    }
    web = web_config(tmp_path, document)
    assert key_text not in repr(web)
    with serving(simulator, web) as url:
        healthy = f"{url}/-/healthy"
        accepted = requests.get(healthy, verify=pki.ca, cert=pki.client(), timeout=5)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(healthy, verify=pki.ca, cert=pki.client("stranger"), timeout=5)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(healthy, verify=pki.ca, timeout=5)
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("allowed", "admitted"),
    [
        (["prometheus.example"], {"prometheus"}),
        (["2001:db8::7"], {"prometheus"}),  # written as Go writes it, whatever the certificate
        (["spiffe://example.org/prometheus"], {"prometheus"}),
        (["grafana@example.org", "prometheus.example"], {"grafana", "prometheus"}),
        (["client"], set()),  # a common name is not a SAN
    ],
)
@pytest.mark.parametrize("tls_version", ["TLS12", "TLS13"])
def test_client_allowed_sans_admits_only_certificates_with_one_of_them(
    simulator: Simulator,
    tmp_path: Path,
    pki: Pki,
    allowed: list[str],
    admitted: set[str],
    tls_version: str,
) -> None:
    document = tls_section(
        pki,
        client_auth_type="RequireAndVerifyClientCert",
        client_ca_file=pki.ca,
        max_version=tls_version,
    )
    document[TLS]["client_allowed_sans"] = allowed
    clients = ("prometheus", "grafana", "client")
    answered = set()
    with serving(simulator, web_config(tmp_path, document)) as url:
        for name in clients:
            try:
                response = requests.get(
                    f"{url}/-/healthy", verify=pki.ca, cert=pki.client(name), timeout=5
                )
            except requests.exceptions.ConnectionError:
                continue
            assert response.status_code == 200
            answered.add(name)
        # The server still serves whoever is allowed after refusing others.
        if admitted:
            last = sorted(admitted)[0]
            again = requests.get(
                f"{url}/-/healthy", verify=pki.ca, cert=pki.client(last), timeout=5
            )
            assert again.status_code == 200
    assert answered == admitted


def test_rate_limit_answers_429_beyond_the_bucket_on_every_path_but_health(
    simulator: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = {
        "rate_limit": {"interval": "300ms", "burst": 3},
        "basic_auth_users": {"u": bcrypt_hash("pw")},
    }
    web = web_config(tmp_path, document)
    with serving(simulator, web) as url:
        session = requests.Session()
        session.auth = ("u", "pw")
        first = [session.get(f"{url}/nope", timeout=5).status_code for _ in range(3)]
        refused = session.get(f"{url}/metrics", timeout=5)
        health = [session.get(f"{url}/-/healthy", timeout=5).status_code for _ in range(5)]
        # Beyond the bucket, a wrong password costs no bcrypt check: 429 comes first.
        calls = count_checkpw(monkeypatch)
        guess = requests.get(f"{url}/metrics", auth=("u", "guess"), timeout=5)
        bcrypt_calls = len(calls)
        time.sleep(0.35)  # one token back
        refilled = session.get(f"{url}/nope", timeout=5).status_code
        then = session.get(f"{url}/nope", timeout=5).status_code
    assert first == [404, 404, 404]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.text == "too many requests: see rate_limit\n"
    assert health == [200] * 5
    assert (guess.status_code, bcrypt_calls) == (429, 0)
    assert (refilled, then) == (404, 429)
    assert simulator.stats.count("odin") == 0  # the refused scrape collected nothing


def test_the_command_line_applies_the_rate_limit(tmp_path: Path, processes: Processes) -> None:
    path = write_web_config(tmp_path, {"rate_limit": {"interval": "1m", "burst": 2}})
    cli = processes.start_exporter(
        "--demo", "--web.listen-address=127.0.0.1:0", f"--web.config.file={path}"
    )
    url = cli.url()
    statuses = [requests.get(f"{url}/nope", timeout=5).status_code for _ in range(3)]
    healthy = requests.get(f"{url}/-/healthy", timeout=5).status_code
    assert statuses == [404, 404, 429]
    assert healthy == 200


def test_token_bucket_starts_full_and_refills_one_token_per_interval() -> None:
    now = [100.0]
    bucket = TokenBucket(RateLimit(interval=2.0, burst=2), clock=lambda: now[0])
    assert [bucket.take(), bucket.take()] == [None, None]
    assert bucket.take() == pytest.approx(2.0)
    now[0] += 1.0
    assert bucket.take() == pytest.approx(1.0)
    now[0] += 1.0
    assert bucket.take() is None
    now[0] += 60.0  # never more than the burst
    assert [bucket.take(), bucket.take()] == [None, None]
    assert bucket.take() is not None
    nothing = TokenBucket(RateLimit(interval=1.0, burst=0), clock=lambda: now[0])
    now[0] += 60.0
    assert nothing.take() == float("inf")  # as Go's limiter: a burst of 0 admits no one


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"interval": "1s", "burst": 20}, RateLimit(1.0, 20)),
        ({"interval": "1m30s", "burst": 1}, RateLimit(90.0, 1)),
        ({"interval": "250ms", "burst": 4}, RateLimit(0.25, 4)),
        ({"interval": "1.5h", "burst": 1}, RateLimit(5400.0, 1)),
        ({"interval": 1_000_000_000, "burst": 1}, RateLimit(1.0, 1)),  # Go: nanoseconds
        ({"interval": "0s", "burst": 1}, None),
        ({"interval": "-1s", "burst": 1}, None),  # Go's rate.Every: no limit
        ({"burst": 10}, None),
    ],
)
def test_rate_limit_reads_intervals_as_go_durations(
    tmp_path: Path, document: dict[str, Any], expected: RateLimit | None
) -> None:
    web = web_config(tmp_path, {"rate_limit": document})
    if expected is None:
        assert web.rate_limit is None and web.rate_limiter() is None
    else:
        assert web.rate_limit is not None
        assert web.rate_limit.burst == expected.burst
        assert web.rate_limit.interval == pytest.approx(expected.interval)


# --- Health stays cheap under a flood of wrong passwords ------------------------------------


def test_the_verified_credential_cache_is_bounded_and_keeps_the_most_recent(
    tmp_path: Path,
) -> None:
    count = VERIFIED_CACHE_SIZE + 6
    users = {f"u{i}": bcrypt_hash(f"pw{i}") for i in range(count)}
    auth = web_config(tmp_path, {"basic_auth_users": users}).basic_auth()
    assert auth is not None
    assert all(auth.check(basic(f"u{i}", f"pw{i}")) for i in range(count))
    assert auth.known(basic(f"u{count - 1}", f"pw{count - 1}"))
    assert not auth.known(basic("u0", "pw0"))  # the oldest, pushed out
    assert not auth.known(basic(f"u{count - 1}", "wrong"))
    assert auth.check(basic("u0", "pw0"))  # verified again, by bcrypt


@pytest.mark.slow
def test_wrong_passwords_from_30_clients_never_slow_an_authenticated_health_check(
    simulator: Simulator, tmp_path: Path
) -> None:
    # Cost 11: each wrong password takes a core for about 0.1 s, so 30 clients keep every
    # worker busy (issue 21 saw an authenticated /-/healthy take 4 s with cost 12).
    web = web_config(tmp_path, {"basic_auth_users": {"probe": bcrypt_hash("pw", cost=11)}})
    stop = threading.Event()
    guesses: list[int] = []
    latencies = []
    with serving(simulator, web) as url:
        healthy = f"{url}/-/healthy"
        assert requests.get(healthy, auth=("probe", "pw"), timeout=10).status_code == 200

        def guess() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    try:
                        response = session.get(healthy, auth=("probe", "guess"), timeout=30)
                    except requests.exceptions.RequestException:
                        continue
                    guesses.append(response.status_code)

        attackers = [threading.Thread(target=guess, daemon=True) for _ in range(30)]
        for attacker in attackers:
            attacker.start()
        time.sleep(1.0)  # every worker busy with bcrypt, a queue behind them
        with requests.Session() as probe:
            for _ in range(6):
                started = time.monotonic()
                status = probe.get(healthy, auth=("probe", "pw"), timeout=10).status_code
                latencies.append(time.monotonic() - started)
                assert status == 200
                time.sleep(0.2)
        stop.set()
        for attacker in attackers:  # their last guesses answered before the server stops
            attacker.join(timeout=30)
    print(f"authenticated /-/healthy under attack: max {max(latencies):.3f} s")
    assert guesses and set(guesses) == {401}
    assert max(latencies) < 1.0, latencies  # a Kubernetes probe gives up at 3 s


def test_a_key_joined_to_its_value_is_not_echoed(tmp_path: Path) -> None:
    """Flow style without a space after the colon makes the inline private key one long key:
    the error names it up to the colon, never the PEM."""
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config: {key:-----BEGIN PRIVATE KEY-----MIIEvQIBADAN}\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert "MIIEvQIBADAN" not in str(caught.value) and "BEGIN" not in str(caught.value)
    assert str(caught.value).startswith("tls_server_config.key …: unknown or unsupported key")


def test_the_web_config_docs_security_md_prints_is_accepted(tmp_path: Path, pki: Pki) -> None:
    """The printed block, as an operator fills it in: its own files beside it under the
    printed names, and a real hash where it says `$2b$12$...`."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    (block,) = [
        b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "tls_server_config:" in b
    ]
    for printed, ours in [("server.crt", pki.server_crt), ("server.key", pki.server_key)]:
        shutil.copy(ours, tmp_path / printed)
    shutil.copy(pki.ca, tmp_path / "clients-ca.crt")
    path = tmp_path / "web.yml"
    path.write_text(block.replace("$2b$12$...", bcrypt_hash("pw")))
    web = load_web_config(path)
    assert web.ssl_context() is not None
    assert web.basic_auth() is not None
