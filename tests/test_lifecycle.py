"""The exporter as a process: hot reload (SIGHUP and /-/reload) and graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from exporter.simulator import Simulator
from tests.test_server import samples, value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_text(simulator: Simulator, *, with_didww: bool = True) -> str:
    text = f"""
odin:
  - name: odin-sim
    url: {simulator.odin_url}
    username: {simulator.odin_username}
    password: ${{TEST_ODIN_PASSWORD}}
    service_providers: [ent.acme, ent.globex]
"""
    if with_didww:
        text += f"""
didww:
  - name: didww-sim
    url: {simulator.didww_url}
    api_key: ${{TEST_DIDWW_KEY}}
    rate_limit: 0
"""
    return text


class RunningExporter:
    def __init__(self, process: subprocess.Popen[str], url: str, config: Path) -> None:
        self.process = process
        self.url = url
        self.config = config

    def metrics(self) -> dict:
        response = requests.get(f"{self.url}/metrics", timeout=15)
        assert response.status_code == 200
        return samples(response.text)

    def wait_for(self, predicate: Callable[[dict], bool], what: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            parsed = self.metrics()
            if predicate(parsed):
                return parsed
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.2)


@pytest.fixture
def running(simulator: Simulator, tmp_path: Path) -> Iterator[RunningExporter]:
    config = tmp_path / "config.yml"
    config.write_text(config_text(simulator))
    port = free_port()
    env = {
        **os.environ,
        "TEST_ODIN_PASSWORD": simulator.odin_password,
        "TEST_DIDWW_KEY": simulator.didww_api_key,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(config),
            "--web.listen-address",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"{url}/-/healthy", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"exporter did not start: {process.communicate()[1]}")
        time.sleep(0.1)
    try:
        yield RunningExporter(process, url, config)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def reload_ok(parsed: dict) -> float | None:
    return value(parsed, "trunk_capacity_exporter_config_last_reload_successful")


def test_sighup_reload_removes_a_target(running: RunningExporter, simulator: Simulator) -> None:
    before = running.metrics()
    assert value(before, "didww_up", target="didww-sim") == 1
    stamp = value(before, "trunk_capacity_exporter_config_last_reload_success_timestamp_seconds")
    running.config.write_text(config_text(simulator, with_didww=False))
    running.process.send_signal(signal.SIGHUP)
    after = running.wait_for(
        lambda p: value(p, "didww_up", target="didww-sim") is None, "didww to disappear"
    )
    assert value(after, "odin_up", target="odin-sim") == 1
    assert reload_ok(after) == 1
    new_stamp = value(after, "trunk_capacity_exporter_config_last_reload_success_timestamp_seconds")
    assert new_stamp > stamp
    assert not any(dict(labels).get("target") == "didww-sim" for _, labels in after)


def test_reload_endpoint_with_a_good_then_a_broken_file(
    running: RunningExporter, simulator: Simulator
) -> None:
    running.config.write_text(config_text(simulator, with_didww=False))
    good = requests.post(f"{running.url}/-/reload", timeout=10)
    assert good.status_code == 200
    assert value(running.metrics(), "didww_up", target="didww-sim") is None

    running.config.write_text("odin:\n  - name: odin-sim\n    colour: blue\n")
    bad = requests.post(f"{running.url}/-/reload", timeout=10)
    assert bad.status_code == 400
    assert "url" in bad.text or "colour" in bad.text
    parsed = running.metrics()
    assert reload_ok(parsed) == 0
    assert value(parsed, "odin_up", target="odin-sim") == 1  # the old config keeps serving


def test_sighup_with_a_broken_file_keeps_the_old_config(
    running: RunningExporter, simulator: Simulator
) -> None:
    running.config.write_text("odin: [\n")
    running.process.send_signal(signal.SIGHUP)
    parsed = running.wait_for(lambda p: reload_ok(p) == 0, "the failed reload")
    assert value(parsed, "odin_up", target="odin-sim") == 1
    assert value(parsed, "didww_up", target="didww-sim") == 1


def test_sigterm_stops_gracefully_with_exit_0(running: RunningExporter) -> None:
    running.metrics()
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    _, stderr = running.process.communicate(timeout=10)
    assert running.process.returncode == 0
    assert time.monotonic() - started < 5
    assert "Traceback" not in stderr
    assert "shutting down" in stderr


def test_logs_never_contain_secrets(running: RunningExporter, simulator: Simulator) -> None:
    running.metrics()
    running.process.send_signal(signal.SIGTERM)
    _, stderr = running.process.communicate(timeout=10)
    assert "listening" in stderr
    assert simulator.odin_password not in stderr
    assert simulator.didww_api_key not in stderr
