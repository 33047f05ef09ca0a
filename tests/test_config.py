"""Config loading: a valid file, and every kind of bad file refused in one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exporter.config import ConfigError, Secret, load_config, parse_config, parse_duration

SECRET = "hunter2-very-secret"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "odin-password"
    path.write_text(SECRET + "\n")
    return path


def full_config(secret_file: Path) -> str:
    return textwrap.dedent(
        f"""
        odin:
          - name: odin-prod
            url: https://odin.example.com/api/v2/
            username: exporter
            password_file: {secret_file}
            service_providers: [ent.odin, sp.two]
            trunk_groups: true
            timeout: 5s
            max_concurrency: 16
            rate_limit: 5
            min_interval: 30s
            tls: {{insecure_skip_verify: true}}
          - name: odin-lab
            url: http://odin-lab:8080/api/v2
            username: exporter
            password: ${{ODIN_LAB_PASSWORD}}
            discover: true
            include: "ent\\\\..*"
            exclude: "ent\\\\.test"
            reseller: res1
        didww:
          - name: didww
            api_key: ${{DIDWW_KEY}}
            api_version: 2022-05-10
            rate_limit: 8
        """
    )


def test_full_config_is_parsed(secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODIN_LAB_PASSWORD", "lab-pw")
    monkeypatch.setenv("DIDWW_KEY", "didww-key")
    config = parse_config(full_config(secret_file))

    prod, lab = config.odin
    assert prod.url == "https://odin.example.com/api/v2"  # trailing slash dropped
    assert prod.password.reveal() == SECRET
    assert prod.service_providers == ("ent.odin", "sp.two")
    assert (prod.timeout, prod.max_concurrency, prod.rate_limit, prod.min_interval) == (
        5.0,
        16,
        5.0,
        30.0,
    )
    assert prod.tls.verify is False
    assert lab.password.reveal() == "lab-pw"
    assert lab.discover and lab.reseller == "res1"
    assert lab.wants_service_provider("ent.acme")
    assert not lab.wants_service_provider("ent.test")
    assert not lab.wants_service_provider("sp.other")
    (didww,) = config.didww
    assert didww.url == "https://api.didww.com/v3"
    assert didww.api_version == "2022-05-10"  # an unquoted YAML date
    assert didww.api_key.reveal() == "didww-key"
    assert config.target_names == ("odin-prod", "odin-lab", "didww")


def test_secrets_never_show_in_repr(secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODIN_LAB_PASSWORD", "lab-pw")
    monkeypatch.setenv("DIDWW_KEY", "didww-key")
    config = parse_config(full_config(secret_file))
    text = repr(config) + str(config)
    for secret in (SECRET, "lab-pw", "didww-key"):
        assert secret not in text
    assert repr(Secret("x")) == "Secret('********')"


def test_durations() -> None:
    assert parse_duration("10s") == 10
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1m30s") == 90
    assert parse_duration(3) == 3
    assert parse_duration(" 1h ") == 3600
    for bad in ("ten", "10", "-1s", "1d", "1s1", True, None, -3):
        assert parse_duration(bad) is None, bad


ODIN_OK = """
odin:
  - name: o
    url: https://odin/api/v2
    username: u
    password: pw
    service_providers: [a]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("odin: {}", "odin: expected a list of targets, got a mapping"),
        ("", "no targets"),
        ("odin: [", "at line"),
        (ODIN_OK + "    colour: blue\n", "odin[0] \"o\": unknown key 'colour'"),
        (ODIN_OK + "typo: 1\n", "unknown key 'typo'"),
        (ODIN_OK.replace("https://odin/api/v2", "odin/api/v2"), 'odin[0] "o": url: invalid URL'),
        (ODIN_OK + "    timeout: ten\n", "odin[0] \"o\": timeout: invalid duration 'ten'"),
        (ODIN_OK + "    timeout: 0s\n", "timeout: must be greater than zero"),
        (ODIN_OK + "    max_concurrency: 0\n", "max_concurrency: must be at least 1"),
        (ODIN_OK + "    max_concurrency: many\n", "max_concurrency: expected an integer"),
        (ODIN_OK + "    rate_limit: -1\n", "rate_limit: must be at least 0"),
        (ODIN_OK + "    trunk_groups: yes please\n", "trunk_groups: expected true or false"),
        (ODIN_OK + "    discover: true\n", "give a list of service providers or set discover"),
        (ODIN_OK + "    include: x\n", "include: applies only with discover: true"),
        (ODIN_OK + "    tls: {ca_file: /nonexistent/ca.pem}\n", "ca_file: /nonexistent/ca.pem"),
        (ODIN_OK + "    tls: {verify: false}\n", "unknown key 'verify'"),
        (ODIN_OK.replace("password: pw", "password: ${UNSET_VAR_X}"), "UNSET_VAR_X is not set"),
        (ODIN_OK.replace("    password: pw\n", ""), "password: is required"),
        (
            ODIN_OK.replace("password: pw", "password_file: /nonexistent/secret"),
            "password_file: cannot read /nonexistent/secret",
        ),
        (ODIN_OK + ODIN_OK.replace("odin:\n", ""), "duplicate target name"),
        (ODIN_OK + "didww:\n  - name: o\n    api_key: k\n", "duplicate target name"),
        (ODIN_OK.replace("name: o", "name: 'bad name'"), "may use only letters"),
        (ODIN_OK + "    include: '('\n    discover: true\n", "service_providers"),
        ("didww:\n  - name: d\n", 'didww[0] "d": api_key: is required'),
        ("didww:\n  - name: d\n    api_key: k\n    api_version: v3\n", "api_version: expected"),
        (
            "didww:\n  - name: d\n    api_key: k\n    api_version: 2021-04-19\n",
            "api_version: 2021-04-19 is older than 2021-12-15",
        ),
    ],
)
def test_bad_config_is_refused_with_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_secret_file_contents_never_appear_in_errors(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    text = ODIN_OK.replace("password: pw", f"password_file: {secret}") + "    bogus: 1\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert SECRET not in str(caught.value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    result = run_cli("--config.check", "--config.file", str(path))
    assert result.returncode == 0, result.stderr
    assert "config OK: 1 targets (o)" in result.stdout


def test_config_check_refuses_a_bad_file_in_one_line_exit_2(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    path = tmp_path / "config.yml"
    path.write_text(
        ODIN_OK.replace("password: pw", f"password_file: {secret}") + "    timeout: soon\n"
    )
    result = run_cli("--config.check", "--config.file", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: odin[0] \"o\": timeout: invalid duration 'soon' (use 10s, 500ms, 1m)"
    ]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("--config.check", "--config.file", str(tmp_path / "absent.yml"))
    assert result.returncode == 2
    assert "cannot read config file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    assert load_config(path).target_names == ("o",)


def test_config_check_also_checks_the_web_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(ODIN_OK)
    web = tmp_path / "web.yml"
    web.write_text(
        "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n"
    )
    result = run_cli("--config.check", "--config.file", str(config), "--web.config.file", str(web))
    assert result.returncode == 2
    assert result.stderr.startswith("web config error: ")
    assert "cert_file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
