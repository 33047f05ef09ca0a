"""Child processes of the tests: the exporter's and the simulator's command lines, repository
scripts, Prometheus and Alertmanager.

A child that serves binds port 0 and says where it listens; the address is read back from its
output (picking a free port here and handing it to the child is a race: anything may take the
port in between). Tests get a `Processes` from the `processes` fixture (tests/conftest.py),
which marks them slow and stops what they started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent

# The line a server writes once its sockets listen: the exporter's (logfmt)
#   msg=listening address=127.0.0.1:40009,[::1]:38507 tls=False ...
# and Prometheus' and Alertmanager's
#   msg="Listening on" address=127.0.0.1:34469
LISTENING = re.compile(r'\bmsg=(?:listening|"Listening on") .*?\baddress=(?P<address>\S+)')
START_TIMEOUT = 20.0


class Child:
    """A started process whose output (stdout and stderr together) is read as it comes."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | str = ROOT,
        inherit_env: bool = True,
    ) -> None:
        self.argv = [str(arg) for arg in argv]
        self.process = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=environment(env, inherit_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="child-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                with self._changed:
                    self._lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    @property
    def output(self) -> str:
        """Everything the child wrote so far."""
        with self._changed:
            return "".join(self._lines)

    def wait_for_line(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first line of output matching `pattern`, as it is written; fails with the output
        so far when the child ends or `timeout` passes first."""
        wanted = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    if match := wanted.search(line):
                        return match
                seen = len(self._lines)
                remaining = deadline - time.monotonic()
                if not self._reader.is_alive() or remaining <= 0:
                    break
                self._changed.wait(remaining)
        state = "timed out" if self._reader.is_alive() else f"exited ({self.process.poll()})"
        raise AssertionError(
            f"{self.argv[0]} {state} before writing a line matching {wanted.pattern!r}:\n"
            + self.output[-3000:]
        )

    def listen_addresses(self, timeout: float = START_TIMEOUT) -> list[str]:
        """Where the child listens (HOST:PORT, IPv6 hosts in brackets), from its start line."""
        return self.wait_for_line(LISTENING, timeout)["address"].split(",")

    def url(self, scheme: str = "http", timeout: float = START_TIMEOUT) -> str:
        """The base URL of the first address the child listens on (a wildcard address is
        reached on loopback)."""
        host, port = self.listen_addresses(timeout)[0].rsplit(":", 1)
        host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        return f"{scheme}://{host}:{port}"

    def wait_until_ok(self, url: str, timeout: float = START_TIMEOUT) -> None:
        """Until `url` answers 200; fails with the output when the child ends first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.poll() is not None:
                self.wait()
                raise AssertionError(
                    f"{self.argv[0]} exited with {self.returncode}:\n{self.output[-3000:]}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.argv[0]} did not answer 200 on {url} within {timeout:g} s:\n"
                    + self.output[-3000:]
                )
            time.sleep(0.05)

    def wait(self, timeout: float = 10.0) -> int:
        """The exit status, once the child has ended and all its output is read."""
        returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return returncode

    def stop(self, timeout: float = 10.0) -> str:
        """SIGTERM (SIGKILL after `timeout`), then everything the child wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.wait(timeout)
        return self.output


class Processes:
    """Starts and runs children for one test (or one module); stops those still running."""

    def __init__(self) -> None:
        self._children: list[Child] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.stop()

    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | str = ROOT,
        inherit_env: bool = True,
    ) -> Child:
        """`argv` running in the background, its output read as it comes."""
        child = Child(argv, env=env, cwd=cwd, inherit_env=inherit_env)
        self._children.append(child)
        return child

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 60.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | str = ROOT,
        inherit_env: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`argv` run to its end, its stdout and stderr captured as text; a failure is a
        return code, not an exception."""
        return subprocess.run(
            [str(arg) for arg in argv],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=environment(env, inherit_env),
        )

    def exporter(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`python -m exporter ARGS` run to its end."""
        return self.run([sys.executable, "-m", "exporter", *args], timeout=timeout)

    def start_exporter(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        healthy: bool = True,
    ) -> Child:
        """`python -m exporter ARGS` (behind `prefix`, e.g. prlimit): give it
        --web.listen-address=127.0.0.1:0 and ask the child for its url(). Returned once it
        listens and, with `healthy`, once its plain-HTTP /-/healthy answers: by then its
        signal handlers are in place (until then it ignores SIGHUP)."""
        child = self.start([*prefix, sys.executable, "-m", "exporter", *args], env=env)
        if healthy:
            child.wait_until_ok(f"{child.url()}/-/healthy")
        else:
            child.listen_addresses()
        return child


def environment(env: Mapping[str, str] | None, inherit: bool) -> dict[str, str]:
    """`env` over this process's environment, or `env` alone."""
    return {**(os.environ if inherit else {}), **(env or {})}
