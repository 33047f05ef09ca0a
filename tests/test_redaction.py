"""Secrets echoed by an upstream never get out (issue 21, item 3).

Hostile fakes on loopback echo what the exporter sent them: DIDWW's Api-Key in a 403 or 422
body, the login's body (the Odin password) in a 500, the bearer token in a 401. The log, the
status page, /metrics and the /-/reload answer must show none of it, in any spelling.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from exporter.cli import reload_config
from exporter.core.logs import LogfmtFormatter
from exporter.core.redaction import REDACTED, Redactor
from exporter.registry import load_config
from exporter.scrape.running import Exporter
from tests.helpers import serving
from tests.hostile_fake import Answer, Handler, Request, hostile_upstream, json_answer

# A password that JSON, HTML and URLs each spell differently.
PASSWORD = 'pa"ss\\wörd<€>-odin-4242'
API_KEY = "KEY-didww-4242-abcdef0123456789"
_EXP = base64.urlsafe_b64encode(json.dumps({"exp": 4102444800}).encode()).decode().rstrip("=")
_logins = itertools.count(1)


def spellings(secret: str) -> set[str]:
    """Every way the secret could show up: as sent, in JSON, in HTML, in a URL."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(json.dumps(secret)[1:-1]),
        quote(secret, safe=""),
    }


def fresh_token(request: Request) -> Answer:
    return json_answer(200, {"token": f"h.{_EXP}.token-{next(_logins)}-zq81x"})


def echo_body_as_text(request: Request) -> Answer:
    return Answer(500, b"could not process " + request.body, "text/plain")


def echo_body_in_json(request: Request) -> Answer:
    details = f"bad request body {request.body.decode()}"
    return json_answer(500, {"error": "Internal Server Error", "status": 500, "details": details})


def echo_token(request: Request) -> Answer:
    details = f"token {request.headers.get('Authorization')} has expired"
    return json_answer(401, {"error": "Unauthorized", "status": 401, "details": details})


def echo_key(status: int) -> Handler:
    def answer(request: Request) -> Answer:
        detail = f"Api-Key {request.headers.get('Api-Key')} may not read {request.path}"
        return json_answer(status, {"errors": [{"title": "Refused", "detail": detail}]})

    return answer


DIDWW_PATHS = (
    "/v3/balance",
    "/v3/capacity_pools",
    "/v3/shared_capacity_groups",
    "/v3/voice_in_trunks",
    "/v3/voice_in_trunk_groups",
    "/v3/voice_out_trunks",
)
REPORTS = "/api/v2/service-providers/trunk-groups/call-capacity/reports"

SCENARIOS: dict[str, dict[tuple[str, str], Handler]] = {
    "didww 403 echoes the key": {("GET", path): echo_key(403) for path in DIDWW_PATHS},
    "didww 422 echoes the key": {("GET", path): echo_key(422) for path in DIDWW_PATHS},
    "odin login 500 echoes the body as text": {("POST", "/api/v2/auth/token"): echo_body_as_text},
    "odin login 500 echoes the body in JSON": {("POST", "/api/v2/auth/token"): echo_body_in_json},
    "odin 401 echoes the token": {
        ("POST", "/api/v2/auth/token"): fresh_token,
        ("GET", REPORTS): echo_token,
    },
}


def write_config(directory: Path, url: str) -> Path:
    (directory / "password").write_text(PASSWORD)
    (directory / "key").write_text(API_KEY)
    path = directory / "config.yml"
    path.write_text(
        f"odin:\n  - name: odin\n    url: {url}/api/v2\n    username: u\n"
        f"    password_file: {directory / 'password'}\n    service_providers: [sp.a]\n"
        f"didww:\n  - name: didww\n    url: {url}/v3\n    api_key_file: {directory / 'key'}\n"
        "    rate_limit: 0\n"
    )
    return path


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_echoed_secret_reaches_the_log_the_page_metrics_or_reload(
    scenario: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with hostile_upstream(SCENARIOS[scenario]) as upstream:
        path = write_config(tmp_path, upstream.url)
        exporter = Exporter(load_config(path))
        with serving(exporter, reload=lambda: reload_config(exporter, path)) as url:
            metrics = requests.get(f"{url}/metrics", timeout=20).text
            page = requests.get(url, timeout=5).text
            reload = requests.post(f"{url}/-/reload", timeout=10).text
            metrics += requests.get(f"{url}/probe?target=didww", timeout=20).text
        sent = [request.headers.get("Authorization", "") for request in upstream.requests]
    echoed = {token.removeprefix("Bearer ") for token in sent if token}
    secrets = {PASSWORD, API_KEY, *echoed}
    formatter = LogfmtFormatter()
    log = "\n".join(formatter.format(record) for record in caplog.records)
    for text, what in (
        (log, "log"),
        (page, "status page"),
        (metrics, "metrics"),
        (reload, "reload"),
    ):
        for secret in secrets:
            for spelling in spellings(secret):
                assert spelling not in text, f"{what} shows {spelling!r}"
    # The echo was there, and shown redacted: without the redactor this test would fail.
    assert REDACTED in log
    assert html.escape(REDACTED) in page
    assert reload == "config reloaded\n"


def test_a_redacted_text_is_cut_after_redacting() -> None:
    """A secret straddling the cut must not leave its first half behind."""
    redactor = Redactor(["s3cret-value"])
    text = "x" * 55 + "s3cret-value and more"
    assert redactor.cut(text, 60) == "x" * 55 + REDACTED + "…"
    assert "s3cr" not in redactor.cut(text, 60)


def test_a_secret_repeated_after_the_cut_is_not_pulled_into_view() -> None:
    """A DIDWW error whose title and detail both quote the key: the shorter `[redacted]` of
    the first copy must not bring the second copy inside the cut."""
    key = "SECRETKEY0123456789abcdefghijklmnopqrstu"
    text = key + "-" * 30 + key
    cut = Redactor([key]).cut(text, 60)
    assert cut == REDACTED + "-" * 20 + "…"
    assert "SECRET" not in cut and "0123" not in cut


@pytest.mark.parametrize(
    ("secret", "echo"),
    [
        ('a"b\\c', 'a\\"b\\\\c'),  # JSON-escaped
        ("p€ss", "p\\u20acss"),  # JSON with ensure_ascii, as requests sends a body
        ("a b&c", "a%20b%26c"),  # URL-encoded
        ("a b&c", "a+b%26c"),  # a form
        ("<pw>", "&lt;pw&gt;"),  # HTML
    ],
)
def test_every_spelling_of_a_secret_is_redacted(secret: str, echo: str) -> None:
    assert Redactor([secret])(f"got {echo}!") == f"got {REDACTED}!"


def test_a_basic_auth_header_redacts_its_credentials_in_every_form() -> None:
    redactor = Redactor()
    encoded = base64.b64encode(b"user:pa55word").decode()
    redactor.add_header(f"Basic {encoded}")
    for echo in (encoded, "user:pa55word", "pa55word"):
        assert redactor(f"[{echo}]") == f"[{REDACTED}]"


def test_the_last_few_tokens_are_remembered_not_every_one() -> None:
    redactor = Redactor()
    add: Callable[[int], None] = lambda n: redactor.add_header(f"Bearer token-{n:03}", True)  # noqa: E731
    for number in range(10):
        add(number)
    assert redactor("token-009 token-006") == f"{REDACTED} {REDACTED}"
    assert redactor("token-001") == "token-001"  # long replaced: the set stays bounded
