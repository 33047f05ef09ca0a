"""The exporter as a process: hot reload (SIGHUP and /-/reload) and graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from exporter.cli import reload_config
from exporter.config.section import ConfigError
from exporter.registry import load_config
from exporter.scrape.running import Exporter
from exporter.serving.reloader import Reloader
from simulator import Simulator
from tests.helpers import Samples, samples, value, wait_until
from tests.processes import Child, Processes


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
    def __init__(self, process: Child, config: Path) -> None:
        self.process = process
        self.url = process.url()
        self.config = config

    def metrics(self) -> Samples:
        response = requests.get(f"{self.url}/metrics", timeout=15)
        assert response.status_code == 200
        return samples(response.text)

    def wait_for(
        self, predicate: Callable[[Samples], bool], what: str, timeout: float = 10.0
    ) -> Samples:
        """The first scrape whose samples satisfy `predicate`."""

        def satisfying() -> Samples | None:
            parsed = self.metrics()
            return parsed if predicate(parsed) else None

        return wait_until(satisfying, timeout, what, interval=0.05)


@pytest.fixture
def running(simulator: Simulator, tmp_path: Path, processes: Processes) -> RunningExporter:
    config = tmp_path / "config.yml"
    config.write_text(config_text(simulator))
    env = {
        "TEST_ODIN_PASSWORD": simulator.odin_password,
        "TEST_DIDWW_KEY": simulator.didww_api_key,
    }
    process = processes.start_exporter(
        "--config.file", str(config), "--web.listen-address", "127.0.0.1:0", env=env
    )
    return RunningExporter(process, config)


def reload_ok(parsed: Samples) -> float | None:
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
    assert running.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    stderr = running.process.output
    assert "Traceback" not in stderr
    assert "shutting down" in stderr


def test_sigterm_stops_within_the_grace_whatever_waits_on_a_slow_upstream(
    running: RunningExporter, simulator: Simulator
) -> None:
    """Requests waiting for collections of a 30 s upstream (some of whose clients hung up),
    and a slow reader: the process ends within the 3 s grace, without an error line."""
    running.metrics()  # warm, so that nothing is left to discover
    simulator.latency = 30.0
    port = int(running.url.rsplit(":", 1)[1])
    request = (
        b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n"
        b"X-Prometheus-Scrape-Timeout-Seconds: 120\r\n\r\n"
    )
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(24)]
    try:
        for client in clients:
            client.sendall(request)
        for client in clients[:8]:  # hung up: nobody waits for their answers
            client.close()
        time.sleep(1.0)  # every request is waiting now
        started = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=15) == 0
        took = time.monotonic() - started
    finally:
        for client in clients:
            client.close()
    stderr = running.process.output
    assert took < 3.0 + 1.5, f"stopped {took:.1f}s after SIGTERM"
    assert "Traceback" not in stderr
    assert "Event loop is closed" not in stderr
    assert "level=error" not in stderr, stderr[-2000:]


def test_logs_never_contain_secrets(running: RunningExporter, simulator: Simulator) -> None:
    running.metrics()
    stderr = running.process.stop()
    assert "listening" in stderr
    assert simulator.odin_password not in stderr
    assert simulator.didww_api_key not in stderr


class CountingReload:
    """A slow reload that records how many ran and whether two ever overlapped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0
        self.running = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.overlapped |= self.running > 1
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1


def test_reload_requests_are_coalesced_and_serialized() -> None:
    reload = CountingReload(0.1)
    reloader = Reloader(reload).start()
    try:
        callers = [threading.Thread(target=reloader.now) for _ in range(3)]
        for caller in callers:
            caller.start()
        for _ in range(50):  # 2,000 requests in 0.5 s
            for _ in range(40):
                reloader.request()
            time.sleep(0.01)
        for caller in callers:
            caller.join(timeout=5)
        wait_until(
            lambda: reloader.completed >= reload.calls and not reload.running,
            5,
            "every reload to complete",
        )
    finally:
        reloader.stop()
    assert not reload.overlapped
    # 0.5 s of requests against a 0.1 s reload: about 5 signalled reloads, plus the 3 direct.
    assert 4 <= reload.calls <= 12, reload.calls


def test_a_reload_that_raises_leaves_the_reloader_running() -> None:
    calls: list[int] = []

    def reload() -> None:
        calls.append(1)
        raise (ConfigError if len(calls) == 1 else RuntimeError)("bad")

    reloader = Reloader(reload).start()
    try:
        for expected in (1, 2, 3):
            reloader.request()
            wait_until(lambda n=expected: reloader.completed >= n, 5, f"reload {expected} to run")
    finally:
        reloader.stop()


@pytest.mark.slow
def test_a_sighup_storm_leaves_the_process_serving(
    running: RunningExporter, simulator: Simulator
) -> None:
    """1,000 SIGHUPs a second for 10 s: the process keeps answering and reloads coalesce."""
    threads_before = process_threads(running.process.pid)
    started = time.monotonic()
    sent = 0
    slowest_health = 0.0
    while time.monotonic() - started < 10:
        for _ in range(10):
            os.kill(running.process.pid, signal.SIGHUP)
            sent += 1
        if sent % 500 == 0:
            began = time.monotonic()
            assert requests.get(f"{running.url}/-/healthy", timeout=5).status_code == 200
            slowest_health = max(slowest_health, time.monotonic() - began)
        time.sleep(0.01)
    assert running.process.poll() is None, "the exporter died under the SIGHUP storm"
    assert sent >= 5000
    parsed = running.metrics()
    assert reload_ok(parsed) == 1
    assert value(parsed, "odin_up", target="odin-sim") == 1
    assert slowest_health < 2
    assert process_threads(running.process.pid) <= threads_before + 20
    stderr = running.process.stop()
    reloads = stderr.count('msg="config reloaded"')
    assert 1 <= reloads < sent / 5, f"{reloads} reloads for {sent} signals"
    assert "Traceback" not in stderr


def process_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_repeated_listen_addresses_all_serve(processes: Processes) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
        hosts = ["127.0.0.1", "[::1]"]
    except OSError:
        hosts = ["127.0.0.1", "127.0.0.1"]
    args = ["--demo", *(f"--web.listen-address={host}:0" for host in hosts)]
    process = processes.start_exporter(*args)
    addresses = process.listen_addresses()  # the start line names every address
    try:
        assert [address.rsplit(":", 1)[0] for address in addresses] == hosts
        for address in addresses:
            assert requests.get(f"http://{address}/-/healthy", timeout=5).text == "Healthy\n"
    finally:
        stderr = process.stop()
    assert "listening beyond loopback" not in stderr


def test_sighup_in_demo_mode_says_there_is_nothing_to_reload(processes: Processes) -> None:
    process = processes.start_exporter("--demo", "--web.listen-address=127.0.0.1:0")
    try:
        process.send_signal(signal.SIGHUP)
        process.wait_for_line("demo mode has no config file to reload", timeout=10)
        assert requests.get(f"{process.url()}/-/healthy", timeout=5).status_code == 200
    finally:
        stderr = process.stop()
    assert "demo mode has no config file to reload" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--web.listen-address=::1:10042", "IPv6 address in [brackets]"),
        ("--web.listen-address=10042", "expected HOST:PORT or :PORT"),
        ("--web.max-connections=0", "whole number above 0"),
        ("--web.read-header-timeout=soon", "invalid duration"),
        ("--web.read-header-timeout=0s", "expected a duration above 0"),
        ("--web.write-timeout=0", "expected a duration above 0"),
        ("--scrape.default-timeout=0ms", "expected a duration above 0"),
    ],
)
def test_bad_serving_flags_are_one_line(processes: Processes, flag: str, message: str) -> None:
    result = processes.exporter("--demo", flag, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_one_line_and_exit_2(processes: Processes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:  # held here: no one else can take it
        port = taken.getsockname()[1]
        result = processes.exporter("--demo", f"--web.listen-address=127.0.0.1:{port}", timeout=30)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_demo_listens_on_localhost_only() -> None:
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    demo_recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--demo" in demo_recipe
    assert "--web.listen-address=localhost:10042" in demo_recipe


def make_dry_run(target: str, venv: Path) -> str:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        ["make", "-n", "-C", str(root), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_demo_installs_the_package_only_and_make_test_adds_the_toolchain(
    tmp_path: Path,
) -> None:
    """On a fresh checkout (an empty venv): what each of the README's commands installs."""
    demo = [line for line in make_dry_run("demo", tmp_path).splitlines() if "pip install" in line]
    assert demo[-1].endswith("pip install --quiet -e .")
    assert not any("[test]" in line for line in demo)
    assert "pip install --quiet -e '.[test]'" in make_dry_run("test", tmp_path)


def test_every_serving_flag_and_its_default_is_in_docs_security() -> None:
    from exporter.cli import build_parser

    text = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    parser = build_parser()
    flags = [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--web.") and option != "--web.config.file"
    ]
    assert len(flags) == 7
    for flag in flags:
        assert f"`{flag}`" in text, flag
    for field, shown in (
        ("max_connections", "512"),
        ("max_requests", "16 worker threads"),
        ("read_header_timeout", "5 s"),
        ("idle_timeout", "10 s"),
        ("tls_handshake_timeout", "5 s"),
        ("write_timeout", "30 s"),
    ):
        default = parser.get_default(field)
        assert shown.startswith(f"{default:g}"), (field, default)
        assert f"| {shown}" in text, field


@pytest.mark.parametrize("failure", ["a broken file", "a bug applying it"])
def test_any_failed_reload_reads_as_unsuccessful(
    simulator: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    monkeypatch.setenv("TEST_ODIN_PASSWORD", simulator.odin_password)
    monkeypatch.setenv("TEST_DIDWW_KEY", simulator.didww_api_key)
    config_file = tmp_path / "config.yml"
    config_file.write_text(config_text(simulator))
    exporter = Exporter(load_config(config_file))
    try:
        if failure == "a broken file":
            config_file.write_text("odin: [\n")
            expected: type[Exception] = ConfigError
        else:
            monkeypatch.setattr(Exporter, "apply_config", lambda *_: 1 / 0)
            expected = ZeroDivisionError
        with pytest.raises(expected):
            reload_config(exporter, config_file)
        successful, _ = exporter.reload_state
    finally:
        exporter.close()
    assert successful is False
