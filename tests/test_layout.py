"""The design kept visible: what names a vendor, the module map, and adding a vendor.

The layers themselves are checked by `lint-imports` (the contracts in pyproject.toml).
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("exporter", "simulator")
# The modules allowed to name a vendor: the vendors' own packages, the registry that lists
# them, the capacity chain that joins Odin to DIDWW, the demo that configures both, and the
# planning series (recorded from both vendors' metrics).
NAMES_VENDORS = (
    "exporter/vendors/",
    "exporter/registry.py",
    "exporter/chain.py",
    "exporter/demo.py",
    # The series `plan` reads from Prometheus are named after the vendors' metrics.
    "exporter/planning/series.py",
)
VENDOR_NAME = re.compile(r"(?<![a-z])odin|didww", re.IGNORECASE)  # not "encoding"
THIRD_VENDOR = ROOT / "tests" / "third_vendor" / "fakecarrier"


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def names_in_code(tree: ast.Module) -> Iterator[str]:
    """Identifiers and string literals, docstrings left out (examples in them are prose)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            yield node.name
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.alias):
            yield node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


def test_no_core_module_names_a_vendor() -> None:
    """Config, core, upstream, scrape, serving and the command line know targets, not vendors:
    a vendor's name in their code would be a second vendor list to keep in step."""
    offenders = []
    for path in modules():
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith("exporter/") or relative.startswith(NAMES_VENDORS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [
            f"{relative}: {name!r}" for name in names_in_code(tree) if VENDOR_NAME.search(name)
        ]
    assert offenders == []


def test_the_check_sees_a_vendor_name_in_code_but_not_in_a_docstring() -> None:
    tree = ast.parse('"""Reads odin."""\nclient = make("didww")\n')
    assert [name for name in names_in_code(tree) if VENDOR_NAME.search(name)] == ["didww"]


def test_docs_development_maps_every_module() -> None:
    """Every module has its line in the map: a module added without one fails here."""
    doc = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    mapped = set(re.findall(r"`((?:exporter|simulator)/[\w/]+\.py)`", doc))
    present = {
        path.relative_to(ROOT).as_posix()
        for path in modules()
        if path.name not in ("__init__.py", "__main__.py")
    }
    assert sorted(present - mapped) == [], "modules missing from docs/development.md"
    assert sorted(mapped - present) == [], "docs/development.md maps modules that do not exist"


class _Carrier(BaseHTTPRequestHandler):
    """The made-up carrier's one endpoint."""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer carrier-token":
            self._answer(401, {"message": "bad token"})
        elif self.path == "/api/channels":
            self._answer(200, {"channels_total": 30, "channels_in_use": 12})
        else:
            self._answer(404, {"message": "no such endpoint"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def carrier() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Carrier)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def register_fake_carrier(registry: Path) -> None:
    """The one registration: its name imported and its VENDOR listed."""
    text = registry.read_text(encoding="utf-8")
    imported = "from exporter.vendors import didww, odin\n"
    listed = "VENDORS: tuple[Vendor, ...] = (odin.VENDOR, didww.VENDOR)\n"
    assert imported in text and listed in text, "the registry's shape changed: update this test"
    text = text.replace(imported, "from exporter.vendors import didww, fakecarrier, odin\n")
    text = text.replace(listed, listed.replace(")\n", ", fakecarrier.VENDOR)\n"))
    registry.write_text(text, encoding="utf-8")


def added_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]


@pytest.mark.slow
def test_a_third_vendor_needs_only_its_package_and_one_registration(
    tmp_path: Path, carrier: str
) -> None:
    """A copy of the source with tests/third_vendor/fakecarrier/ dropped in and registered reads
    its config section, describes it, scrapes it, and keeps the import layers."""
    source = tmp_path / "src"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(THIRD_VENDOR, source / "exporter" / "vendors" / "fakecarrier")
    registry = source / "exporter" / "registry.py"
    register_fake_carrier(registry)
    config = tmp_path / "config.yml"
    config.write_text(
        f"fakecarrier:\n  - name: carrier\n    url: {carrier}\n    token: carrier-token\n"
    )
    environment = {"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"}

    def exporter(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "exporter", f"--config.file={config}", *flags]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=environment, cwd=tmp_path
        )

    check = exporter("--config.check")
    assert check.returncode == 0, check.stderr
    assert "1 target (0 Odin, 0 DIDWW, 1 FakeCarrier)" in check.stdout
    assert "carrier: FakeCarrier at 127.0.0.1:" in check.stdout
    once = exporter("--once")
    assert once.returncode == 0, once.stderr
    assert 'fakecarrier_up{target="carrier"} 1.0' in once.stdout
    assert 'fakecarrier_channels_in_use{target="carrier"} 12.0' in once.stdout
    # The layers and the independence of vendors hold with the third vendor in place.
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=tmp_path,
    )
    assert lint.returncode == 0, lint.stdout
    # And nothing else was touched: the package is new, the registry differs in one import
    # and one entry, every other file is as it was.
    changed = [
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if "fakecarrier" not in path.parts
        and path.read_bytes() != (ROOT / path.relative_to(source)).read_bytes()
    ]
    assert changed == ["exporter/registry.py"]
    registration = added_lines(
        (ROOT / "exporter" / "registry.py").read_text(), registry.read_text()
    )
    assert len(registration) == 2 and all("fakecarrier" in line for line in registration)
