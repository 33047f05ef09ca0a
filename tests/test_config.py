"""Config loading: a valid file, and every kind of bad file refused in one line, exit 2."""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path

import pytest
import requests

from exporter.cli import reload_config
from exporter.config.section import ConfigError, Secret, format_duration, parse_duration
from exporter.registry import describe_config, load_config, parse_config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.config import DidwwRefresh, DidwwTarget
from exporter.vendors.odin.config import OdinTarget, RefreshIntervals
from tests.helpers import serving
from tests.processes import Processes

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

    prod, lab, didww = config.targets
    assert isinstance(prod, OdinTarget) and isinstance(lab, OdinTarget)
    assert isinstance(didww, DidwwTarget)
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
    # Prometheus' units, as prometheus.yml and the rules write them.
    assert parse_duration("1d") == 86400
    assert parse_duration("1w") == 7 * 86400
    assert parse_duration("1y") == 365 * 86400
    assert parse_duration("1d12h") == 36 * 3600
    assert parse_duration("1s500ms") == 1.5
    for bad in ("ten", "-1s", "1s1", "10 s", "", "1h1d", "1m1m", "1ms1s", True, None, -3, "-3"):
        assert parse_duration(bad) is None, bad


def test_durations_are_written_back_the_way_the_config_writes_them() -> None:
    cases = {0.5: "500ms", 90: "1m30s", 3600: "1h", 86400: "1d", 93784: "1d2h3m4s"}
    for seconds, text in cases.items():
        assert format_duration(seconds) == text
        assert parse_duration(text) == seconds


ODIN_OK = """
odin:
  - name: o
    url: https://odin/api/v2
    username: u
    password: pw
    service_providers: [a]
"""


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("10", 10.0),
        ("'10'", 10.0),
        ('"10"', 10.0),
        ("10s", 10.0),
        ("'10s'", 10.0),
        ("2.5", 2.5),
        ("'2.5'", 2.5),
        ("1m30s", 90.0),
        ("'500ms'", 0.5),
    ],
)
def test_a_duration_means_the_same_quoted_or_not(written: str, seconds: float) -> None:
    config = parse_config(ODIN_OK + f"    timeout: {written}\n    min_interval: {written}\n")
    assert (config.targets[0].timeout, config.targets[0].min_interval) == (seconds, seconds)


def error_of(text: str, source: str = "c.yml") -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source)
    message = str(caught.value)
    assert "\n" not in message
    return message


def with_line(line: str, text: str = ODIN_OK) -> str:
    """ODIN_OK with `line` added to its entry (as line 8 of the file)."""
    return text + f"    {line}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("odin: {}", "c.yml: line 1: odin: expected a list of targets, got a mapping"),
        ("", "c.yml: no targets: add an `odin:` or `didww:` entry"),
        ("odin:\n  - hello\n", "c.yml: line 2: odin[0]: expected a mapping, got a string"),
        (
            ODIN_OK.replace("https://odin/api/v2", "odin/api/v2"),
            'c.yml: line 4: odin[0] "o": url: not a URL of the form http(s)://host/path',
        ),
        (
            ODIN_OK.replace("https://odin/api/v2", "https://me:pw@odin/api/v2"),
            'c.yml: line 4: odin[0] "o": url: must not carry credentials (use username/password)',
        ),
        (
            ODIN_OK.replace("https://odin/api/v2", "https://odin/api?x=1"),
            'c.yml: line 4: odin[0] "o": url: URL must not carry a query or fragment',
        ),
        (
            with_line("timeout: ten"),
            'c.yml: line 8: odin[0] "o": timeout: not a duration '
            "(use 10s, 500ms, 1m30s, 1d or a number of seconds)",
        ),
        (
            with_line("timeout: 0s"),
            'c.yml: line 8: odin[0] "o": timeout: must be greater than zero',
        ),
        (
            with_line("max_concurrency: 0"),
            'c.yml: line 8: odin[0] "o": max_concurrency: must be at least 1',
        ),
        (
            with_line("max_concurrency: 10000"),
            'c.yml: line 8: odin[0] "o": max_concurrency: must be at most 256',
        ),
        (
            with_line("max_concurrency: many"),
            'c.yml: line 8: odin[0] "o": max_concurrency: expected an integer, got a string',
        ),
        (with_line("rate_limit: -1"), 'c.yml: line 8: odin[0] "o": rate_limit: must be at least 0'),
        (
            with_line("rate_limit: .nan"),
            'c.yml: line 8: odin[0] "o": rate_limit: expected a finite number, got nan',
        ),
        (
            with_line("trunk_groups: yes please"),
            'c.yml: line 8: odin[0] "o": trunk_groups: expected true or false, got a string',
        ),
        (
            with_line("include: x"),
            'c.yml: line 8: odin[0] "o": include: applies only with discover: true',
        ),
        (
            with_line("tls: {ca_file: /nonexistent/ca.pem}"),
            'c.yml: line 8: odin[0] "o": tls: ca_file: no such file',
        ),
        (
            with_line("tls: true"),
            'c.yml: line 8: odin[0] "o": tls: expected a mapping, got a boolean',
        ),
        (
            ODIN_OK.replace("    password: pw\n", ""),
            'c.yml: line 3: odin[0] "o": password: is required (set password or password_file)',
        ),
        (
            ODIN_OK.replace("password: pw", "password_file: /nonexistent/secret"),
            'c.yml: line 6: odin[0] "o": password_file: cannot read /nonexistent/secret: '
            "No such file or directory",
        ),
        (
            ODIN_OK.replace("password: pw", "password: pw\n    password_file: /x"),
            'c.yml: line 7: odin[0] "o": password_file: set either password or password_file, '
            "not both",
        ),
        (
            ODIN_OK + ODIN_OK.replace("odin:\n", ""),
            'c.yml: line 9: odin[1] "o": name: another target has this name '
            "(names must be unique across the file)",
        ),
        (
            ODIN_OK + "didww:\n  - name: o\n    api_key: k\n",
            'c.yml: line 9: didww[0] "o": name: another target has this name '
            "(names must be unique across the file)",
        ),
        (
            ODIN_OK.replace("name: o", "name: 'bad name'"),
            "c.yml: line 3: odin[0]: name: may use only letters, digits, _ . : - "
            "(and start with one)",
        ),
        (
            ODIN_OK.replace("[a]", "[a, b, a]"),
            'c.yml: line 7: odin[0] "o": service_providers: item 3 repeats item 1 '
            "(each may be listed once)",
        ),
        (
            with_line("include: '('\n    discover: true").replace(
                "    service_providers: [a]\n", ""
            ),
            'c.yml: line 7: odin[0] "o": include: invalid regular expression: '
            "missing ), unterminated subpattern",
        ),
        (
            "didww:\n  - name: d\n",
            'c.yml: line 2: didww[0] "d": api_key: is required (set api_key or api_key_file)',
        ),
        (
            "didww:\n  - name: d\n    api_key: k\n    api_version: v3\n",
            'c.yml: line 4: didww[0] "d": api_version: expected a date such as 2022-05-10',
        ),
        (
            "didww:\n  - name: d\n    api_key: k\n    api_version: 2021-04-19\n",
            'c.yml: line 4: didww[0] "d": api_version: older than 2021-12-15, the first version '
            "with /voice_in_trunks; set it to that or later (the header only upgrades the "
            "version of the exporter's own requests)",
        ),
    ],
)
def test_bad_config_is_one_line_naming_file_line_entry_and_key(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The cases: the typo used to be reported as the missing key it stood for.
        (
            ODIN_OK.replace("password: pw", "pasword_file: /run/secrets/odin"),
            "c.yml: line 6: odin[0] \"o\": unknown key 'pasword_file' "
            "(did you mean password_file?)",
        ),
        (
            ODIN_OK.replace("service_providers:", "service_provider:"),
            "c.yml: line 7: odin[0] \"o\": unknown key 'service_provider' "
            "(did you mean service_providers?)",
        ),
        (ODIN_OK + "odn: []\n", "c.yml: line 8: unknown key 'odn' (did you mean odin?)"),
        (
            with_line("tls: {insecure_skip_verfy: true}"),
            "c.yml: line 8: odin[0] \"o\": tls: unknown key 'insecure_skip_verfy' "
            "(did you mean insecure_skip_verify?)",
        ),
        (
            with_line("colour: blue"),
            "c.yml: line 8: odin[0] \"o\": unknown key 'colour' (see docs/configuration.md)",
        ),
        # Reported before an error in an earlier entry, and before an unset variable.
        (
            ODIN_OK.replace("pw", "${UNSET_VAR_X}")
            + "didww:\n  - name: d\n    api_key: k\n    api_versoin: 2022-05-10\n",
            "c.yml: line 11: didww[0] \"d\": unknown key 'api_versoin' (did you mean api_version?)",
        ),
    ],
)
def test_an_unknown_key_is_reported_first_with_the_closest_known_key(
    text: str, message: str
) -> None:
    assert error_of(text) == message


def test_discover_together_with_a_list_is_called_a_contradiction() -> None:
    assert error_of(with_line("discover: true")) == (
        'c.yml: line 8: odin[0] "o": discover: set either service_providers or discover: true, '
        "not both (use include/exclude to narrow discovery)"
    )


def test_neither_a_list_nor_discovery_says_what_is_missing() -> None:
    assert error_of(ODIN_OK.replace("    service_providers: [a]\n", "")) == (
        'c.yml: line 3: odin[0] "o": service_providers: is required: '
        "list the service providers, or set discover: true"
    )


def test_an_unset_variable_names_file_line_entry_key_and_variable() -> None:
    text = ODIN_OK + "didww:\n  - name: d\n    api_key: ${UNSET_VAR_X}\n"
    assert error_of(text) == (
        'c.yml: line 10: didww[0] "d": api_key: environment variable UNSET_VAR_X is not set'
    )


def test_variables_are_expanded_in_lists_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_NAME", "ent.from-env")
    config = parse_config(ODIN_OK.replace("[a]", "[a, '${SP_NAME}']"))
    assert config.targets[0].service_providers == ("a", "ent.from-env")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "odin:\n  - name: o\n     url: x\n",
            "c.yml: line 3, column 9: unexpected 'key: value' "
            "(check the indentation, or quote a value that contains ': ')",
        ),
        (
            "odin:\n  - name: o\n    url: x\n   username: y\n",
            "c.yml: line 4, column 4: this line's indentation does not match the lines above it",
        ),
        ("odin:\n\t- name: o\n", "c.yml: line 2, column 1: a tab character (indent with spaces)"),
        ("odin: [\n", "c.yml: line 2, column 1: the file ends inside a [ or {"),
        (
            "odin:\n  - name: o\n    hunter2\n",
            "c.yml: line 4, column 1: expected 'key: value' on this line or the one above "
            "(a missing colon, or an indentation)",
        ),
        (
            ODIN_OK + "    timeout: 5s\n    timeout: 6s\n",
            "c.yml: line 9, column 5: odin[0]: duplicate key 'timeout' (first at line 8)",
        ),
        (
            ODIN_OK + "odin: []\n",
            "c.yml: line 8, column 1: duplicate key 'odin' (first at line 2)",
        ),
    ],
)
def test_yaml_mistakes_are_one_line_with_line_and_column_in_words(text: str, message: str) -> None:
    assert error_of(text) == message


# --- secrets: control characters, and no value ever in an error -------------------------------


@pytest.mark.parametrize(
    "content",
    [SECRET + "\n", SECRET + "\r\n", SECRET],
    ids=["LF", "CRLF", "no line break"],
)
def test_one_final_line_break_of_a_secret_file_is_not_part_of_the_secret(
    tmp_path: Path, content: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(content.encode())
    config = parse_config(ODIN_OK.replace("password: pw", f"password_file: {secret}"))
    assert config.targets[0].password.reveal() == SECRET


@pytest.mark.parametrize(
    "content",
    [
        SECRET + "\nsecond-line\n",
        SECRET + "\n\n",
        SECRET + "\r",
        "x\x00" + SECRET,
        SECRET + "\t\n",
        SECRET + "\x1b[0m",
    ],
    ids=["two lines", "two line breaks", "CR", "NUL", "tab", "escape"],
)
def test_a_secret_file_with_a_control_character_is_refused_without_showing_it(
    tmp_path: Path, content: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(content.encode())
    message = error_of(ODIN_OK.replace("password: pw", f"password_file: {secret}"))
    assert message == (
        'c.yml: line 6: odin[0] "o": password_file: the file holds a control character '
        "(a line break, CR, NUL, tab...), which no credential or setting may contain"
    )
    assert SECRET not in message and "second-line" not in message


@pytest.mark.parametrize("value", [SECRET + "\n", SECRET + "\r\n", "a\x1b" + SECRET, "\n"])
def test_a_secret_from_the_environment_with_a_control_character_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """An environment variable is taken exactly as set: no line break is stripped from it."""
    monkeypatch.setenv("DIDWW_KEY", value)
    message = error_of("didww:\n  - name: d\n    api_key: ${DIDWW_KEY}\n")
    assert message == (
        'c.yml: line 3: didww[0] "d": api_key: the value has a control character '
        "(a line break, CR, NUL, tab...), which no credential or setting may contain"
    )
    assert SECRET not in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("KEY\u20ac", "a character outside Latin-1, which cannot be sent in an HTTP header"),
        ("KEY\u2028", "a control or format character"),
        ("KEY\x85", "a control or format character"),
        ("KEY\u202e", "a control or format character"),
        ("\u200bKEY", "a control or format character"),
        (" KEY", "leading or trailing whitespace, which an HTTP header drops"),
    ],
    ids=["euro", "U+2028", "U+0085", "U+202E", "U+200B", "leading space"],
)
def test_an_api_key_that_cannot_be_a_header_value_is_refused_naming_only_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, problem: str
) -> None:
    """Such a key passed the check and then failed every call as `internal` (issue 21)."""
    monkeypatch.setenv("DIDWW_KEY", value)
    message = error_of("didww:\n  - name: d\n    api_key: ${DIDWW_KEY}\n")
    assert message.startswith(f'c.yml: line 3: didww[0] "d": api_key: the value has {problem}')
    assert value.strip() not in message and "KEY" not in message
    key_file = tmp_path / "key"
    key_file.write_bytes(value.encode())
    message = error_of(f"didww:\n  - name: d\n    api_key_file: {key_file}\n")
    assert message.startswith(
        f'c.yml: line 3: didww[0] "d": api_key_file: the file holds {problem}'
    )


def test_a_password_may_be_any_printable_text_but_no_format_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An Odin password travels in the login's JSON body, not in a header: any letter will do."""
    monkeypatch.setenv("PW", "пароль-€")
    text = ODIN_OK.replace("password: pw", "password: ${PW}")
    assert parse_config(text).targets[0].password.reveal() == "пароль-€"
    monkeypatch.setenv("PW", "pass\u2028word")
    assert "password: the value has a control or format character" in error_of(text)


def test_a_secret_joined_to_its_key_is_named_by_the_key_alone() -> None:
    message = error_of("didww:\n  - {name: d, api_key:VALUE-42}\n")
    assert message == (
        "c.yml: line 2: didww[0] \"d\": unknown key 'api_key …' (a value joined to its key: "
        "write `api_key: <value>`, with a space)"
    )


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("\n")
    assert error_of(ODIN_OK.replace("password: pw", f"password_file: {secret}")) == (
        'c.yml: line 6: odin[0] "o": password_file: the file is empty'
    )


HIDDEN = "hunter2-Ab1"


@pytest.mark.parametrize(
    "text",
    [
        ODIN_OK.replace("password: pw", f"password: *{HIDDEN}"),
        ODIN_OK.replace("password: pw", f"password: &{HIDDEN} x"),
        ODIN_OK.replace("password: pw", f'password: "{HIDDEN}\\q"'),
        ODIN_OK.replace("password: pw", f"password: !{HIDDEN} x"),
        ODIN_OK.replace("password: pw", f"password: @{HIDDEN}"),
        ODIN_OK.replace("password: pw", f"password: '{HIDDEN}"),
        ODIN_OK.replace("password: pw", f"password: {HIDDEN}: x"),
        ODIN_OK.replace("password: pw", f"password:\n      {HIDDEN}\n    x"),
        ODIN_OK.replace("password: pw", f"password_file: {HIDDEN}"),
        ODIN_OK.replace("username: u", f"username: [{HIDDEN}]"),
        ODIN_OK.replace("https://odin/api/v2", HIDDEN),
        ODIN_OK.replace("https://odin/api/v2", f"https://u:{HIDDEN}@odin"),
        ODIN_OK.replace("https://odin/api/v2", f"https://odin:{HIDDEN}/"),
        ODIN_OK.replace("name: o", f"name: '{HIDDEN} x'"),
        ODIN_OK.replace("[a]", f"[{HIDDEN}, {HIDDEN}]"),
        with_line(f"timeout: {HIDDEN}"),
        with_line(f"max_concurrency: {HIDDEN}"),
        with_line(f"discover: {HIDDEN}"),
        with_line(f"include: '({HIDDEN}'"),
        with_line(f"tls: {{ca_file: /{HIDDEN}}}"),
        with_line(f"tls: {{insecure_skip_verify: {HIDDEN}}}"),
        f"didww:\n  - name: d\n    api_key: k\n    api_version: {HIDDEN}\n",
        f"didww:\n  - name: d\n    api_key: '{HIDDEN}\x01'\n",
        f"didww:\n  - {{name: d, api_key:{HIDDEN}}}\n",  # no space after the colon
        f"didww:\n  - {{name: d, api_key={HIDDEN}}}\n",
        f"didww:\n  - {{name: d, api_key {HIDDEN}: x}}\n",
        f"didww:\n  - {{name: d, api_key: k, api_key:{HIDDEN}: [1], api_key:{HIDDEN}: 2}}\n",
        f"didww:\n  - name: d\n    api_key: 'k{HIDDEN}\u20ac'\n",
        f"didww:\n  - name: d\n    api_key: ' {HIDDEN}'\n",
        f"odin:\n  - {{name: o, password:{HIDDEN}, password: x}}\n",
    ],
)
def test_no_error_ever_shows_a_value_only_its_key_and_position(text: str) -> None:
    message = error_of(text)
    assert HIDDEN not in message
    assert re.search(r"line \d+", message), message


def test_config_check_accepts_a_valid_file(tmp_path: Path, processes: Processes) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    result = processes.exporter("--config.check", "--config.file", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config OK: 1 target (1 Odin, 0 DIDWW)\n")


def test_config_check_refuses_a_bad_file_in_one_line_exit_2(
    tmp_path: Path, processes: Processes
) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    path = tmp_path / "config.yml"
    path.write_text(
        ODIN_OK.replace("password: pw", f"password_file: {secret}") + "    timeout: soon\n"
    )
    result = processes.exporter("--config.check", "--config.file", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'config error: {path}: line 8: odin[0] "o": timeout: not a duration '
        "(use 10s, 500ms, 1m30s, 1d or a number of seconds)"
    ]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_missing_config_file_is_exit_2(tmp_path: Path, processes: Processes) -> None:
    result = processes.exporter("--config.check", "--config.file", str(tmp_path / "absent.yml"))
    assert result.returncode == 2
    assert "cannot read config file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    assert load_config(path).target_names == ("o",)


def test_config_check_also_checks_the_web_config(tmp_path: Path, processes: Processes) -> None:
    config = tmp_path / "config.yml"
    config.write_text(ODIN_OK)
    web = tmp_path / "web.yml"
    web.write_text(
        "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n"
    )
    result = processes.exporter(
        "--config.check", "--config.file", str(config), "--web.config.file", str(web)
    )
    assert result.returncode == 2
    assert result.stderr.startswith("web config error: ")
    assert "cert_file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "entry",
    [
        "name: d\n    api_key: k\n    api_key: *SECRET_VALUE_42",
        "name: d\n    api_key: k\n    timeout: SECRET_VALUE_42",
        "name: d\n    api_key: k\n    api_key: 'SECRET_VALUE_42\x07'",
        "name: d\n    api_key: 'SECRET_VALUE_42\u20ac'",
        "{name: d, api_key:SECRET_VALUE_42}",
    ],
)
def test_a_failed_reload_answers_and_logs_the_key_and_position_never_the_value(
    tmp_path: Path, entry: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The /-/reload 400 body is readable without auth when no web config is set."""
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    exporter = Exporter(load_config(path))
    path.write_text(ODIN_OK + f"didww:\n  - {entry}\n")
    with serving(exporter, reload=lambda: reload_config(exporter, path)) as url:
        response = requests.post(f"{url}/-/reload", timeout=10)
    assert response.status_code == 400
    assert "SECRET_VALUE_42" not in response.text
    assert re.search(rf"{re.escape(str(path))}: line (9|10|11)\b", response.text), response.text
    logged = [f"{r.getMessage()} {vars(r)}" for r in caplog.records]
    assert any("config reload failed" in line for line in logged)
    assert not any("SECRET_VALUE_42" in line for line in logged)


def test_describe_config_summarises_targets_without_secrets(
    secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODIN_LAB_PASSWORD", "lab-pw")
    monkeypatch.setenv("DIDWW_KEY", "didww-key")
    many = ", ".join(f"sp{i}" for i in range(8))
    text = full_config(secret_file).replace("[ent.odin, sp.two]", f"[{many}]")
    summary = describe_config(parse_config(text))
    assert summary.splitlines() == [
        "3 targets (2 Odin, 1 DIDWW)",
        "  odin-prod: Odin at odin.example.com, 8 service providers "
        "(sp0, sp1, sp2, sp3, sp4 and 3 more)",
        "    trunk groups on, timeout 5s, max_concurrency 16, rate_limit 5/s, "
        "min_interval 30s, TLS verify off",
        "    refresh reports 5m, trunk-group lists 15m, details 2m (hot ones every scrape)",
        "  odin-lab: Odin at odin-lab:8080, discovers service providers "
        "(include ent\\..*, exclude ent\\.test, reseller res1)",
        "    trunk groups on, timeout 10s, max_concurrency 8, rate_limit 50/s, "
        "min_interval off, no TLS (plain http)",
        "    refresh reports 5m, trunk-group lists 15m, details 2m (hot ones every scrape)",
        "  didww: DIDWW at api.didww.com, API 2022-05-10",
        "    timeout 10s, max_concurrency 4, rate_limit 8/s, min_interval off, TLS verified",
        "    refresh balance every scrape, pools 5m, groups 5m, trunks 5m, did counts 1h",
    ]
    for secret in (SECRET, "lab-pw", "didww-key"):
        assert secret not in summary


def test_credentials_sent_in_clear_or_to_an_unverified_host_are_warned_about() -> None:
    def warnings(url: str, tls: str = "") -> tuple[str, ...]:
        return parse_config(ODIN_OK.replace("https://odin/api/v2", url) + tls).warnings

    assert warnings("https://odin/api/v2") == ()
    assert warnings("http://127.0.0.1:8080/api/v2") == ()  # a local proxy or the demo
    assert warnings("http://[::1]:8080/api/v2") == ()
    assert warnings("http://odin.example.net/api/v2") == (
        'target "o": url is plain http://: its credentials cross the network unencrypted '
        "(use https://)",
    )
    assert warnings("https://odin/api/v2", "    tls: {insecure_skip_verify: true}\n") == (
        'target "o": tls.insecure_skip_verify: anyone on the path can pose as the API',
    )


def test_config_check_warns_about_a_password_sent_in_clear(
    tmp_path: Path, processes: Processes
) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK.replace("https://odin/api/v2", "http://odin.example.net/api/v2"))
    result = processes.exporter("--config.check", "--config.file", str(path))
    assert result.returncode == 0, result.stderr
    assert "no TLS (plain http)" in result.stdout
    assert result.stderr.splitlines() == [
        'warning: target "o": url is plain http://: its credentials cross the network '
        "unencrypted (use https://)"
    ]


def test_config_check_refuses_a_two_line_key_file_without_printing_it(
    tmp_path: Path, processes: Processes
) -> None:
    """The issue's reproduction: `--config.check` said OK, then the key broke the header."""
    key = tmp_path / "didww-key"
    key.write_text(f"{SECRET}\nsecond-line-{SECRET}\n")
    path = tmp_path / "config.yml"
    path.write_text(f"didww:\n  - name: d\n    api_key_file: {key}\n")
    result = processes.exporter("--config.check", "--config.file", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'config error: {path}: line 3: didww[0] "d": api_key_file: the file holds a control '
        "character (a line break, CR, NUL, tab...), which no credential or setting may contain"
    ]
    assert SECRET not in result.stdout + result.stderr


def test_refresh_intervals_are_read_quoted_or_not_and_default_per_kind() -> None:
    text = """
odin:
  - name: o
    url: https://odin.example.com/api/v2
    username: u
    password: p
    service_providers: [sp]
    refresh:
      reports: 10m
      trunk_group_details: '30'
"""
    (target,) = parse_config(text).targets
    assert target.refresh == RefreshIntervals(
        reports=600.0, trunk_group_lists=900.0, trunk_group_details=30.0
    )


def test_didww_refresh_intervals_are_read_per_kind_with_defaults() -> None:
    text = """
didww:
  - name: d
    api_key: k
    refresh:
      did_counts: 2h
      balance: 30s
"""
    (target,) = parse_config(text).targets
    assert target.refresh == DidwwRefresh(balance=30.0, did_counts=7200.0)
    assert (target.refresh.pools, target.refresh.groups, target.refresh.trunks) == (300,) * 3


def test_an_unknown_refresh_key_names_its_line_and_suggests_the_known_one() -> None:
    text = """
odin:
  - name: o
    url: https://odin.example.com/api/v2
    username: u
    password: p
    service_providers: [sp]
    refresh:
      report: 10m
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    message = str(caught.value)
    assert "line 9" in message and "refresh" in message and "report" in message
    assert "reports" in message  # the suggestion


def test_a_reload_logs_what_is_valid_but_unsafe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.yml"
    path.write_text(ODIN_OK)
    exporter = Exporter(load_config(path))
    path.write_text(ODIN_OK.replace("https://odin/api/v2", "http://odin.example.net/api/v2"))
    try:
        with caplog.at_level(logging.WARNING, logger="exporter.cli"):
            reload_config(exporter, path)
    finally:
        exporter.close()
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == "config is valid but unsafe"
    assert "plain http://" in record.__dict__["problem"]
