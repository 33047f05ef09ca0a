"""The rule files, the PrometheusRule and the dashboards are what deploy/mixin renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "generate_mixin.py"


def test_committed_files_are_the_mixin_output():
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, "run `make mixin`:\n" + result.stderr


def test_the_check_notices_a_hand_edit(tmp_path, monkeypatch):
    """Guard against a vacuous check: a changed threshold in a rule file is reported."""
    sys.path.insert(0, str(GENERATOR.parent))
    try:
        import generate_mixin
    finally:
        sys.path.remove(str(GENERATOR.parent))
    files = generate_mixin.rendered()
    assert generate_mixin.stale_files(files) == []
    edited = dict(files)
    edited[generate_mixin.ALERTS] = files[generate_mixin.ALERTS].replace("for: 3m", "for: 4m")
    assert edited != files
    assert generate_mixin.stale_files(edited) == [generate_mixin.ALERTS]
