"""The status page at `/`: the pure renderer, the page served from memory, and a real browser."""

from __future__ import annotations

import shutil
import subprocess
import time
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests

from exporter.core.snapshot import CollectionError, Snapshot
from exporter.scrape.running import Exporter
from exporter.scrape.sources import Collection, TargetStatus
from exporter.serving.status_page import (
    DASHBOARDS_URL,
    DOCS_URL,
    REPOSITORY,
    human_duration,
    render_status_page,
    url_origin,
)
from simulator import Fault, Simulator
from tests.helpers import serving, simulator_config

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
RELOADED = (True, NOW - 3600)


# Tags that start a line of a card's text; any other (<strong>, <bdi>) is inline.
_BLOCK_TAGS = frozenset({"h2", "dt", "dd", "p", "br", "section"})


class _Sections(HTMLParser):
    """The text of each <section> (a target's card) by its heading, a line per block, and
    every link."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, str] = {}
        self.classes: dict[str, str] = {}
        self.links: list[str] = []
        self.scripts = 0
        self._text: list[str] | None = None
        self._line: list[str] = []
        self._class = ""
        self.isolated: list[str] = []  # the text of every <bdi>
        self._in_bdi = False

    def _flush(self) -> None:
        line = "".join(self._line).strip()
        self._line = []
        if self._text is not None and line:
            self._text.append(line)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _BLOCK_TAGS:
            self._flush()
        self._in_bdi = tag == "bdi"
        if self._in_bdi:
            self.isolated.append("")
        if tag == "section":
            self._text, self._class = [], attributes.get("class") or ""
        elif tag == "a":
            self.links.append(attributes.get("href") or "")
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "bdi":
            self._in_bdi = False
        if tag == "section" and self._text is not None:
            heading, _, rest = "\n".join(self._text).partition("\n")
            self.cards[heading] = rest
            self.classes[heading] = self._class
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._line.append(data)
        if self._in_bdi:
            self.isolated[-1] += data


def parse(page: bytes | str) -> _Sections:
    parser = _Sections()
    parser.feed(page.decode() if isinstance(page, bytes) else page)
    return parser


def status(
    name: str = "odin-a",
    kind: str = "odin",
    url: str = "https://odin.example.com/api/v2",
    *,
    up: bool | None = True,
    complete: bool = True,
    error: CollectionError | None = None,
    counts: dict[str, int] | None = None,
    age: float = 12.0,
    ages: dict[str, float] | None = None,
) -> TargetStatus:
    """A target's status as if its last collection finished `age` seconds ago."""
    errors = (error,) if error else ()
    last = None
    if up is not None:
        snapshot = Snapshot(name, up, complete and up, (), errors, counts or {}, ages or {})
        last = Collection(snapshot, NOW - age, time.monotonic() - age, 0.5)
    return TargetStatus(
        name,
        kind,
        url,
        last,
        (error, NOW - age) if error else None,
        NOW - age if up and complete else None,
    )


def test_a_down_target_shows_its_state_reason_and_when() -> None:
    error = CollectionError("auth", "/auth/token", "HTTP 401: invalid credentials")
    page = parse(
        render_status_page(
            [status(up=False, error=error, age=75), status("didww-b", "didww")],
            RELOADED,
            "1.2.3",
            NOW,
        )
    )
    card = page.cards["odin-a"]
    assert page.classes["odin-a"] == "down"
    assert "down" in card
    assert "auth" in card
    assert "/auth/token: HTTP 401: invalid credentials" in card
    assert "2027-01-15 07:58:45 UTC (1 min 15 s ago)" in card
    assert "Last success\nnever" in card
    assert "Found" not in card  # a failed collection's nothing is no finding
    assert page.classes["didww-b"] == "up"
    assert "Last error\nnone" in page.cards["didww-b"]


def test_counts_data_age_last_success_and_links() -> None:
    counts = {"service providers": 4, "groups": 12, "trunk groups": 8}
    page_bytes = render_status_page(
        [status("odin a&b", counts=counts, age=42)], RELOADED, "1.2.3", NOW
    )
    page = parse(page_bytes)
    card = page.cards["odin a&b"]
    assert "4 service providers, 12 groups, 8 trunk groups" in card
    assert "Data age\n42 s" in card
    assert "Last success\n2027-01-15 07:59:18 UTC (42 s ago)" in card
    assert "Kind\nodin" in card
    assert "probe?target=odin%20a%26b" in page.links
    assert {"metrics", DOCS_URL, DASHBOARDS_URL} <= set(page.links)
    assert page.scripts == 0
    assert b'name="viewport"' in page_bytes
    assert b"Version 1.2.3" in page_bytes


def test_data_age_shows_each_kind_refreshed_at_its_own_pace() -> None:
    ages = {"reports": 180.0, "trunk_group_lists": 600.0, "trunk_group_details": 0.0}
    page = parse(render_status_page([status(age=30, ages=ages)], RELOADED, "1", NOW))
    assert (
        "Data age\n30 s\nreports: 3 min 30 s\ntrunk group details: 30 s\n"
        "trunk group lists: 10 min 30 s"
    ) in page.cards["odin-a"]


def test_a_partial_collection_is_not_shown_as_plainly_up() -> None:
    error = CollectionError("http_error", "/reports", "HTTP 500", scope="ent.acme")
    page = parse(render_status_page([status(complete=False, error=error)], RELOADED, "1", NOW))
    assert page.classes["odin-a"] == "partial"
    assert "up, but part of the data failed" in page.cards["odin-a"]
    assert "/reports (ent.acme): HTTP 500" in page.cards["odin-a"]


def test_never_collected_target() -> None:
    page = parse(render_status_page([status(up=None)], RELOADED, "1", NOW))
    card = page.cards["odin-a"]
    assert page.classes["odin-a"] == "never"
    assert "not yet collected" in card
    assert "Last error\nnone" in card
    assert "Last success\nnever" in card
    assert "Data age\nnone" in card
    assert "Found" not in card


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:s3cret-pass@odin.example.com:8443/api/v2?token=s3cret-token#s3cret",
        "https://s3cret-user@odin.example.com:8443/s3cret-path/api",
    ],
)
def test_credentials_and_paths_of_the_url_are_never_shown(url: str) -> None:
    page = render_status_page([status(url=url)], RELOADED, "1", NOW).decode()
    assert "s3cret" not in page
    assert "admin" not in page
    assert "https://odin.example.com:8443" in parse(page).cards["odin-a"]


def test_url_origin() -> None:
    assert url_origin("http://[::1]:8080/x") == "http://[::1]:8080"
    assert url_origin("https://Odin.Example.com/api") == "https://odin.example.com"
    assert url_origin("https://odin.example.com:99999/") == "(invalid URL)"
    assert url_origin("not a url") == "(no host in URL)"


def test_hostile_names_and_error_details_are_escaped() -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    error = CollectionError(hostile, hostile, hostile, scope=hostile)
    page_text = render_status_page(
        [status(hostile, kind=hostile, up=False, error=error, counts={hostile: 1})],
        RELOADED,
        hostile,
        NOW,
    ).decode()
    page = parse(page_text)
    assert "<script" not in page_text
    assert "<img" not in page_text
    assert page.scripts == 0
    assert hostile in page.cards  # shown as text, exactly
    assert page.cards[hostile].count(hostile) >= 4
    probe = [link for link in page.links if link.startswith("probe?")]
    assert probe == ["probe?target=" + quote(hostile, safe="")]
    assert unquote(probe[0].removeprefix("probe?target=")) == hostile


def test_a_long_upstream_detail_is_cut() -> None:
    error = CollectionError("http_error", "/x", "y" * 5000)
    page = render_status_page([status(up=False, error=error)], RELOADED, "1", NOW).decode()
    assert "y" * 300 + "…" in page
    assert "y" * 301 not in page


def test_every_upstream_field_is_cut_and_isolated() -> None:
    """A U+202E in an SP id turns only itself around; a 2 MB scope is not a 2 MB page."""
    flipped = "sp.\u202eevil"
    error = CollectionError("invalid_response", "/reports", f"bad {flipped}", scope="x" * 2_000_000)
    page_text = render_status_page(
        [status(flipped, up=False, error=error, counts={flipped: 1})], RELOADED, "1", NOW
    ).decode()
    page = parse(page_text)
    assert len(page_text) < 20_000
    assert "x" * 120 + "…" in page.isolated
    assert flipped in page.isolated and f"bad {flipped}" in page.isolated
    assert f"1 {flipped}" in page.isolated
    # Every U+202E on the page is inside a <bdi>: none is left to turn the rest around.
    assert page_text.count("\u202e") == sum(text.count("\u202e") for text in page.isolated)


def test_reload_state() -> None:
    ok = render_status_page([], (True, NOW - 60), "1", NOW).decode()
    assert "Config loaded 2027-01-15 07:59:00 UTC (1 min ago)" in ok
    assert "reload failed" not in ok
    assert "no targets configured" in ok
    failed = render_status_page([], (False, NOW - 7200), "1", NOW).decode()
    assert "The last config reload failed" in failed
    assert "config loaded 2027-01-15 06:00:00 UTC (2 h ago)" in failed


def test_summary_and_title_count_the_states() -> None:
    page = render_status_page(
        [status("a", up=False), status("b"), status("c", up=None)], RELOADED, "1", NOW
    ).decode()
    assert "<title>Trunk Capacity Exporter: 1 down</title>" in page
    assert "3 targets: 1 up, 1 down, 1 not yet collected" in page


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (-5, "0 s"),
        (59.9, "59 s"),
        (185, "3 min 5 s"),
        (7440, "2 h 4 min"),
        (7205, "2 h"),
        (266400, "3 d 2 h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_the_repository_link_is_the_projects_homepage() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Homepage"] == REPOSITORY
    assert (ROOT / "docs").is_dir()
    assert (ROOT / "grafana" / "dashboards").is_dir()


@pytest.mark.slow
def test_the_served_page_shows_a_down_target_and_asks_no_upstream(simulator: Simulator) -> None:
    with serving(Exporter(simulator_config(simulator))) as url:
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200
        simulator.inject(Fault(api="didww", path="*", status=503))
        requests.get(f"{url}/probe", params={"target": "didww-demo"}, timeout=10)
        simulator.stats.reset()
        response = requests.get(f"{url}/", timeout=5)
        assert simulator.stats.count("odin") == 0
        assert simulator.stats.count("didww") == 0
        page = parse(response.text)
        probes = [link for link in page.links if link.startswith("probe?")]
        answers = {link: requests.get(f"{url}/{link}", timeout=10) for link in probes}
    assert sorted(probes) == ["probe?target=didww-demo", "probe?target=odin-demo"]
    assert all(answer.status_code == 200 for answer in answers.values())
    assert "odin_up{" in answers["probe?target=odin-demo"].text
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert page.classes == {"odin-demo": "up", "didww-demo": "down"}
    assert "HTTP 503" in page.cards["didww-demo"]
    assert "service providers" in page.cards["odin-demo"]
    assert "trunk group details:" in page.cards["odin-demo"]  # ages by refresh kind
    for secret in (simulator.odin_password, simulator.didww_api_key):
        assert secret not in response.text


# Only the exporter on loopback: every other host name fails to resolve, so nothing Chromium
# does on its own (updates, safe browsing, metrics) can leave the machine.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the suite may run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--no-pings",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=390,844",  # a phone's viewport
)


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary is not None
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


@pytest.mark.slow
def test_a_phone_sized_headless_chromium_shows_the_down_target(
    simulator: Simulator, tmp_path: Path
) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed: `apt-get install chromium` (make test-tools)")
    with serving(Exporter(simulator_config(simulator))) as url:
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200
        simulator.inject(Fault(api="odin", path="*", status=503))
        requests.get(f"{url}/metrics", timeout=10)
        simulator.stats.reset()
        screenshot = tmp_path / "status.png"
        chromium(f"--screenshot={screenshot}", f"{url}/", profile=tmp_path / "profile")
        dom = chromium("--dump-dom", f"{url}/", profile=tmp_path / "profile").stdout
        assert simulator.stats.count("odin") == 0
        assert simulator.stats.count("didww") == 0
    page = parse(dom)
    assert page.classes == {"odin-demo": "down", "didww-demo": "up"}
    assert "HTTP 503" in page.cards["odin-demo"]
    assert "pools" in page.cards["didww-demo"]
    assert "1 up, 1 down" in dom
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 5000  # a rendered page, not an empty canvas


def test_the_served_page_shows_a_failed_reload(simulator: Simulator) -> None:
    exporter = Exporter(simulator_config(simulator))
    exporter.reload_failed()
    with serving(exporter) as url:
        response = requests.get(f"{url}/", timeout=5)
    assert "The last config reload failed" in response.text
    assert "2 targets: 2 not yet collected" in response.text
