"""The docs are checked against the code: the metrics table against what the exporter exposes,
the config table against the keys the config reader accepts, and every relative link and
anchor of the repository's Markdown against the files and headings it points at."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from exporter.chain import LINK_KEYS, Link
from exporter.cli import build_parser
from exporter.core.deadline import Deadline
from exporter.registry import VENDORS, parse_config
from exporter.scrape.running import Exporter
from exporter.serving.status_page import REPOSITORY
from simulator import Simulator
from tests.helpers import parsed_families, printed_prometheus_configs, simulator_config

ROOT = Path(__file__).resolve().parent.parent
METRICS_DOC = ROOT / "docs" / "metrics.md"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<type>\w+) \|(?P<labels>[^|]*)\|")
# Directories that hold no Markdown of this project.
NOT_OURS = {".git", ".venv", "node_modules", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def between_markers(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def documented_metrics() -> dict[str, tuple[str, frozenset[str]]]:
    rows = {}
    for line in between_markers(METRICS_DOC, "metrics-table").splitlines():
        match = ROW.match(line)
        if match:
            labels = frozenset(
                label.strip() for label in match["labels"].split(",") if label.strip()
            )
            name = (
                match["name"].removesuffix("_total")
                if match["type"] == "counter"
                else match["name"]
            )
            rows[name] = (match["type"], labels)
    return rows


def exposed_metrics(families: Iterable[Metric]) -> dict[str, tuple[str, frozenset[str]]]:
    exposed = {}
    for family in families:
        assert family.samples, f"{family.name} has no sample in the demo data"
        labels = frozenset(family.samples[0].labels) - {"le"}
        exposed[family.name] = (family.type, labels)
    return exposed


def test_the_metrics_doc_lists_every_exposed_metric_with_its_type_and_labels() -> None:
    with Simulator() as simulator:
        # The demo with one link of the capacity chain, so that every metric has a sample.
        link = Link("odin-demo", "ent.acme", "didww-demo", "acme-hq-pbx", "Main office")
        exporter = Exporter(replace(simulator_config(simulator), links=(link,)))
        try:
            scrape = exporter.scrape(Deadline(10))
            exposed = exposed_metrics(parsed_families(scrape.chunks(openmetrics=False)).values())
        finally:
            exporter.close()
    documented = documented_metrics()
    assert len(documented) >= 40
    assert sorted(set(exposed) - set(documented)) == [], "exposed but not in docs/metrics.md"
    assert sorted(set(documented) - set(exposed)) == [], "in docs/metrics.md but not exposed"
    for name, (metric_type, labels) in documented.items():
        assert exposed[name] == (metric_type, labels), name


def documented_config_keys() -> set[str]:
    """Every `key` in the first column of the configuration table."""
    keys = set()
    for line in between_markers(CONFIG_DOC, "config-keys").splitlines():
        cells = line.split("|")
        if len(cells) > 2:
            keys.update(re.findall(r"`([a-z_.]+)`", cells[1]))
    return keys


def test_the_configuration_doc_lists_every_key_the_config_reader_accepts() -> None:
    sections = [vendor.section for vendor in VENDORS]
    accepted = {"links", *(f"links.{key}" for key in LINK_KEYS)}
    for section in sections:
        accepted |= {section.key, *section.keys}
        accepted |= {f"{key}.{sub}" for key, subs in section.nested_keys.items() for sub in subs}
    documented = documented_config_keys()
    assert sorted(accepted - documented) == [], "accepted but not in docs/configuration.md"
    assert sorted(documented - accepted) == [], "in docs/configuration.md but not accepted"


def test_every_command_line_flag_is_documented() -> None:
    """Flags are configuration too: each one is described somewhere under docs/."""
    docs = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md"))
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert len(flags) >= 10
    assert sorted(flag for flag in flags if f"`{flag}`" not in docs) == []


def test_the_readme_stays_a_newcomers_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 15 * 1024
    assert text.index("make demo") < text.index("## Install")
    assert "pip install trunk-capacity-exporter" not in text, "the package is not on PyPI"
    for doc in ("configuration", "metrics", "alerting", "deployment", "troubleshooting"):
        assert f"(docs/{doc}.md)" in text, doc


# --- links --------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


def markdown_files() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.md") if not NOT_OURS & set(path.relative_to(ROOT).parts[:-1])
    )


def without_code(text: str) -> str:
    """The text with fenced blocks and code spans blanked: links in code are examples."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    anchors: set[str] = set(EXPLICIT_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def links_of(path: Path) -> list[str]:
    text = without_code(path.read_text(encoding="utf-8"))
    found = INLINE_LINK.findall(text) + REFERENCE_DEFINITION.findall(text)
    return found + HTML_LINK.findall(text)


def broken_link(source: Path, link: str) -> str | None:
    """Why `link` in `source` leads nowhere, or None when it is fine (or not checked here)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):
        return None  # http:, https:, mailto:: outside the repository, and no network here
    target, _, anchor = link.partition("#")
    path = (source.parent / target).resolve() if target else source
    if not path.exists():
        return "no such file"
    if ROOT not in path.parents and path != ROOT:
        return "outside the repository"
    if anchor and path.suffix == ".md" and anchor not in anchors_of(path):
        return f"no heading #{anchor} in {path.relative_to(ROOT)}"
    return None


def test_the_link_checker_sees_what_is_broken(tmp_path: Path) -> None:
    """The checker itself: a missing file, a missing anchor, a fine link, code left alone."""
    (tmp_path / "docs").mkdir()
    other = tmp_path / "docs" / "other.md"
    other.write_text("# Other\n\n## Sizing: memory and CPU\n\n## Sizing: memory and CPU\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "[a](other.md#sizing-memory-and-cpu) [b](other.md#sizing-memory-and-cpu-1) "
        "[c](missing.md) [d](other.md#nowhere) `[e](in-code.md)` [f](https://example.com/x)\n"
        "```\n[g](in-a-block.md)\n```\n[h]: other.md#other\n"
    )
    assert links_of(page) == [
        "other.md#sizing-memory-and-cpu",
        "other.md#sizing-memory-and-cpu-1",
        "missing.md",
        "other.md#nowhere",
        "https://example.com/x",
        "other.md#other",
    ]
    assert anchors_of(other) == {"other", "sizing-memory-and-cpu", "sizing-memory-and-cpu-1"}
    assert github_anchor("`/probe` sharded across replicas") == "probe-sharded-across-replicas"


def test_every_relative_link_and_anchor_in_the_markdown_resolves() -> None:
    files = markdown_files()
    assert {ROOT / "README.md", CONFIG_DOC, METRICS_DOC} <= set(files)
    broken = [
        f"{path.relative_to(ROOT)}: ({link}): {problem}"
        for path in files
        for link in links_of(path)
        if (problem := broken_link(path, link)) is not None
    ]
    assert broken == []


# Paths named in the comments of deploy/ (`# see docs/deployment.md`): a reference is a path
# with a directory whose first part exists (here or at the root) or that starts with `../`;
# `config.yml` alone, or `FILE=./config.yml`, names the reader's own file.
COMMENT = re.compile(r"^\s*(?:#|//)(.*)$", re.MULTILINE)
PATH_REFERENCE = re.compile(
    r"(?<![\w/.:@=-])((?:\.\./)*(?:[\w.-]+/)+[\w.-]+\.(?:md|ya?ml|libsonnet|json|service|py|toml))"
    r"(?:#([\w-]+))?(?![\w/])"
)
REPOSITORY_URL = re.compile(
    re.escape(REPOSITORY) + r"/(?:blob|tree)/main/([^\s#'\"<>)\\]+)(?:#([\w-]+))?"
)


def comment_references(path: Path) -> list[str]:
    """Every path (with its anchor) that a comment of `path` names."""
    found = []
    for comment in COMMENT.findall(path.read_text(encoding="utf-8")):
        for reference, anchor in PATH_REFERENCE.findall(comment):
            first = reference.split("/")[0]
            if first == ".." or (ROOT / first).is_dir() or (path.parent / first).is_dir():
                found.append(f"{reference}#{anchor}" if anchor else reference)
    return found


def broken_reference(source: Path, reference: str) -> str | None:
    """Like `broken_link`, for a path that may be relative to the file or to the root."""
    target = reference.partition("#")[0]
    if (source.parent / target).exists():
        return broken_link(source, reference)
    return broken_link(ROOT / "README.md", reference)


def deploy_files() -> list[Path]:
    return sorted(path for path in (ROOT / "deploy").rglob("*") if path.is_file())


def test_the_reference_checker_sees_what_is_broken(tmp_path: Path) -> None:
    config = tmp_path / "deploy" / "x.yml"
    config.parent.mkdir()
    config.write_text(
        "# see docs/deployment.md#kubernetes and ../README.md, docs/deploy.md\n"
        "key: docs/not-a-comment.md  # your config.yml, FILE=./config.yml\n"
        "// docs/runbooks.md#nowhere\n"
    )
    assert comment_references(config) == [
        "docs/deployment.md#kubernetes",
        "../README.md",
        "docs/deploy.md",
        "docs/runbooks.md#nowhere",
    ]
    assert broken_reference(config, "docs/deployment.md#kubernetes") is None
    assert broken_reference(config, "docs/deploy.md") == "no such file"
    assert broken_reference(config, "docs/runbooks.md#nowhere") == (
        "no heading #nowhere in docs/runbooks.md"
    )
    url = f"{REPOSITORY}/blob/main/docs/runbooks.md#trunkcapacityexporterdown"
    assert REPOSITORY_URL.findall(f"runbook_url: {url}\n") == [
        ("docs/runbooks.md", "trunkcapacityexporterdown")
    ]


def test_every_path_a_comment_in_deploy_names_exists() -> None:
    files = deploy_files()
    references = [(path, ref) for path in files for ref in comment_references(path)]
    assert len(references) > 20
    broken = [
        f"{path.relative_to(ROOT)}: {ref}: {problem}"
        for path, ref in references
        if (problem := broken_reference(path, ref)) is not None
    ]
    assert broken == []


def test_every_link_into_the_repository_resolves_with_its_anchor() -> None:
    """Runbook links of the alerts, the dashboards' links, the status page's: a renamed heading
    in docs/runbooks.md would otherwise leave on-call with a link to the top of the page."""
    sources = [
        *deploy_files(),
        *sorted((ROOT / "grafana").rglob("*.json")),
        *sorted((ROOT / "exporter").rglob("*.py")),
        *markdown_files(),
    ]
    links = [
        (path, f"{target}#{anchor}" if anchor else target)
        for path in sources
        for target, anchor in REPOSITORY_URL.findall(path.read_text(encoding="utf-8"))
    ]
    assert sum("runbooks.md#" in link for _path, link in links) >= 20
    broken = [
        f"{path.relative_to(ROOT)}: {link}: {problem}"
        for path, link in links
        if (problem := broken_link(ROOT / "README.md", link)) is not None
    ]
    assert broken == []


# --- deployment numbers ------------------------------------------------------------------

DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
K8S_DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml"
MEASURED_ROW = re.compile(
    r"^\| 1,000 SPs x 50 groups \| [\d,]+ \| \d+ MiB \| (?P<one>\d+) MiB \| (?P<pair>\d+) MiB \|",
    re.MULTILINE,
)


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_kubernetes_memory_fits_the_measured_peak_of_the_largest_shape() -> None:
    """The base's request covers one scrape of 1,000 SPs x 50 groups, and its limit two
    overlapping ones, as measured in docs/deployment.md (scripts/measure_memory.py)."""
    deployment = yaml.safe_load(K8S_DEPLOYMENT.read_text(encoding="utf-8"))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    resources = container["resources"]
    measured = MEASURED_ROW.search(DEPLOYMENT_DOC.read_text(encoding="utf-8"))
    assert measured, "docs/deployment.md has no measured row for 1,000 SPs x 50 groups"
    assert mebibytes(resources["requests"]["memory"]) >= int(measured["one"])
    assert mebibytes(resources["limits"]["memory"]) >= 1.5 * int(measured["pair"])
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    for kind in ("requests", "limits"):
        assert f"memory: {resources[kind]['memory']}" in doc, f"docs/deployment.md: {kind}"


# --- The Prometheus configs the docs print, taken as printed ---------------------------------

RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"


def shipped_job_selector() -> re.Pattern[str]:
    """The one `job=~"..."` every shipped recording rule selects on, as Prometheus anchors it."""
    text = (RULES_DIR / "trunk-capacity-recording.yml").read_text(encoding="utf-8")
    (selector,) = set(re.findall(r'job=~"([^"]+)"', text))
    return re.compile(selector)


def test_every_job_the_docs_print_is_one_the_shipped_rules_and_dashboards_select() -> None:
    """A user who copies a printed scrape config gets data in every rule and dashboard."""
    selector = shipped_job_selector()
    jobs = [
        (doc, job["job_name"])
        for doc, config in printed_prometheus_configs()
        for job in config["scrape_configs"]
    ]
    assert len(jobs) >= 4  # README, all targets, /probe, one per target, sharded
    assert [(doc, job) for doc, job in jobs if not selector.fullmatch(job)] == []
    assert not selector.fullmatch("trunk-capacity")  # the check can fail


def test_job_absent_watches_every_job_the_rules_select() -> None:
    """Any printed job keeps JobAbsent quiet, and a job the rules do not select (so every
    rule and panel is empty) makes it fire: it watches the rules' own selector."""
    alerts = (RULES_DIR / "trunk-capacity-alerts.yml").read_text(encoding="utf-8")
    watched = set(re.findall(r'absent\(up\{job=~"([^"]+)"\}\)', alerts))  # a ticket, a page
    assert watched == {shipped_job_selector().pattern}


@pytest.mark.slow
def test_every_printed_prometheus_config_passes_promtool(promtool: str, tmp_path: Path) -> None:
    for number, (doc, config) in enumerate(printed_prometheus_configs()):
        path = tmp_path / f"{number}.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        checked = subprocess.run(
            [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, (doc, checked.stdout + checked.stderr)


def test_the_secret_is_created_with_the_same_files_and_keys_everywhere() -> None:
    """The docs' and the kustomization's `kubectl create secret` agree with the Secret's shape
    and with the paths the config reads."""
    from_file = re.compile(r"--from-file=([\w-]+)=(\S+)")
    kubernetes = ROOT / "deploy" / "kubernetes"
    printed = {
        "docs/deployment.md": from_file.findall((ROOT / "docs" / "deployment.md").read_text()),
        "kustomization.yaml": from_file.findall((kubernetes / "kustomization.yaml").read_text()),
    }
    assert printed["docs/deployment.md"] == printed["kustomization.yaml"] != []
    keys = {key for key, _file in printed["kustomization.yaml"]}
    assert {key for key, file in printed["kustomization.yaml"] if file != f"./{key}"} == set()
    example = yaml.safe_load((kubernetes / "secret.example.yaml").read_text())
    assert set(example["stringData"]) == keys
    config = (kubernetes / "base" / "config.yml").read_text()
    assert set(re.findall(r"/run/secrets/trunk-capacity-exporter/([\w-]+)", config)) == keys


def test_the_runbooks_index_lists_every_alert() -> None:
    """The table of kinds at the top of docs/runbooks.md is how on-call finds a runbook."""
    alerts = (RULES_DIR / "trunk-capacity-alerts.yml").read_text(encoding="utf-8")
    names = {name.lower() for name in re.findall(r"alert: (TrunkCapacity\w+)", alerts)}
    runbooks = (ROOT / "docs" / "runbooks.md").read_text(encoding="utf-8")
    index = runbooks.split("| Kind | Alerts |")[1].split("\n## ")[0]
    assert set(re.findall(r"\(#(trunkcapacity\w+)\)", index)) == names


def test_the_readme_config_with_the_printed_links_block_passes_the_check(tmp_path: Path) -> None:
    """What a newcomer writes: the README's minimal config, then the `links:` block of
    docs/alerting.md. Only the secret files' directory is this test's; the file names are
    those every deploy/ artefact mounts."""
    (readme,) = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
        if block.startswith("# config.yml")
    ]
    alerting = (ROOT / "docs" / "alerting.md").read_text(encoding="utf-8")
    (links,) = [b for b in re.findall(r"```yaml\n(.*?)```", alerting, re.S) if "links:" in b]
    deployed = (ROOT / "deploy" / "config.example.yml").read_text(encoding="utf-8")
    for name in re.findall(r"/run/secrets/(\w+)", readme):
        assert f"/run/secrets/{name}" in deployed, name
        (tmp_path / name).write_text("s3cret\n")
    config = parse_config((readme + links).replace("/run/secrets/", f"{tmp_path}/"))
    assert config.target_names == ("odin-prod", "didww")
    assert [link.service_provider for link in config.links] == ["ent.odin"]
