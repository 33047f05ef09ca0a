"""The capacity chain's links: read from the config, exposed as trunk_capacity_link_info."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from exporter.chain import Link, LinkCheck, describe_check
from exporter.config.section import ConfigError
from exporter.core.deadline import Deadline
from exporter.registry import parse_config
from exporter.scrape.running import Exporter
from exporter.serving.status_page import render_status_page
from simulator import Simulator
from tests.helpers import parsed_families, simulator_config

TARGETS = """
odin:
  - name: odin-prod
    url: https://odin.example.com/api/v2
    username: u
    password: p
    service_providers: [ent.acme, sp.two]
didww:
  - name: didww
    api_key: k
"""


def test_links_are_read_with_their_optional_parts_empty() -> None:
    config = parse_config(
        TARGETS
        + """
links:
  - odin_target: odin-prod
    service_provider: ent.acme
    trunk_group: acme-hq-pbx
    didww_target: didww
    capacity_group: Main office
    voice_in_trunk: Main SIP trunk
  - odin_target: odin-prod
    service_provider: sp.two
    didww_target: didww
    voice_in_trunk: Fax trunk
"""
    )
    assert config.links == (
        Link("odin-prod", "ent.acme", "didww", "acme-hq-pbx", "Main office", "Main SIP trunk"),
        Link("odin-prod", "sp.two", "didww", "", "", "Fax trunk"),
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            "odin_target: odin-lab\n    service_provider: ent.acme\n    didww_target: didww\n"
            "    capacity_group: G",
            "odin_target: names no odin: entry",
        ),
        (
            "odin_target: odin-prod\n    service_provider: ent.acme\n    didww_target: didw\n"
            "    capacity_group: G",
            "didww_target: names no didww: entry",
        ),
        (
            "odin_target: odin-prod\n    service_provider: ent.zzz\n    didww_target: didww\n"
            "    capacity_group: G",
            "service_provider: is not among odin-prod's service_providers",
        ),
        (
            "odin_target: odin-prod\n    service_provider: ent.acme\n    didww_target: didww",
            "capacity_group: a link needs a capacity_group, a voice_in_trunk or both",
        ),
        (
            "odin_target: odin-prod\n    service_provider: ent.acme\n    didww_target: didww\n"
            "    capacity_grup: G",
            "unknown key 'capacity_grup' (did you mean capacity_group?)",
        ),
    ],
)
def test_a_wrong_link_is_one_line_naming_its_key(entry: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(TARGETS + f"links:\n  - {entry}\n")
    message = str(caught.value)
    assert problem in message
    assert "links[0]" in message and "\n" not in message


def test_links_are_exposed_on_metrics_and_on_their_odin_targets_probe() -> None:
    with Simulator() as simulator:
        config = simulator_config(simulator)
        link = Link("odin-demo", "ent.acme", "didww-demo", "acme-hq-pbx", "Main office", "")
        exporter = Exporter(replace(config, links=(link,)))
        try:
            everything = parsed_families(exporter.scrape(Deadline(5)).chunks(openmetrics=False))
            odin = exporter.scrape(Deadline(5), target="odin-demo").chunks(openmetrics=False)
            didww = exporter.scrape(Deadline(5), target="didww-demo").chunks(openmetrics=False)
            odin_families, didww_families = parsed_families(odin), parsed_families(didww)
        finally:
            exporter.close()
    (sample,) = everything["trunk_capacity_link_info"].samples
    assert sample.labels == {
        "target": "odin-demo",
        "service_provider": "ent.acme",
        "trunk_group": "acme-hq-pbx",
        "didww_target": "didww-demo",
        "capacity_group": "Main office",
        "voice_in_trunk": "",
    }
    assert sample.value == 1
    assert "trunk_capacity_link_info" in odin_families
    assert "trunk_capacity_link_info" not in didww_families


def resolution(families: dict) -> dict[str, float]:
    """side -> trunk_capacity_link_resolved of the one link."""
    family = families.get("trunk_capacity_link_resolved")
    return {s.labels["side"]: s.value for s in family.samples} if family else {}


def test_a_link_naming_what_does_not_exist_upstream_is_visible_and_logged_once(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The newcomer's typo: `Main Office` for DIDWW's `Main office`. Its side is 0 on every
    scrape, on the status page's list, and in the log once; fixed by a reload, it is 1."""
    config = simulator_config(simulator)
    typo = Link("odin-demo", "ent.acme", "didww-demo", "acme-hq-pbx", "Main Office", "")
    exporter = Exporter(replace(config, links=(typo,)))
    try:
        with caplog.at_level(logging.INFO, logger="exporter.scrape.running"):
            scrapes = [
                resolution(parsed_families(exporter.scrape(Deadline(5)).chunks(False)))
                for _ in range(3)
            ]
            unresolved = exporter.unresolved_links()
            exporter.apply_config(
                replace(config, links=(replace(typo, capacity_group="Main office"),))
            )
            fixed = resolution(parsed_families(exporter.scrape(Deadline(5)).chunks(False)))
            after_fix = exporter.unresolved_links()
    finally:
        exporter.close()
    # The Odin side is known once its trunk-group lists are read (the first scrape reads them).
    assert scrapes[0]["didww"] == 0
    assert scrapes[1:] == [{"didww": 0, "odin": 1}] * 2
    assert [describe_check(check) for check in unresolved] == [
        "didww-demo has no capacity_group 'Main Office'"
    ]
    assert fixed == {"didww": 1, "odin": 1}
    assert after_fix == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].__dict__["problem"] == "didww-demo has no capacity_group 'Main Office'"


def test_a_trunk_group_the_odin_side_does_not_have_is_unresolved(simulator: Simulator) -> None:
    config = simulator_config(simulator)
    link = Link("odin-demo", "ent.acme", "didww-demo", "acme-hq-PBX", "", "Main SIP trunk")
    exporter = Exporter(replace(config, links=(link,)))
    try:
        for _ in range(2):
            odin = parsed_families(exporter.scrape(Deadline(5), target="odin-demo").chunks(False))
        didww = parsed_families(exporter.scrape(Deadline(5), target="didww-demo").chunks(False))
        (check,) = exporter.unresolved_links()
    finally:
        exporter.close()
    assert resolution(odin) == {"odin": 0}  # each side with the scrape of its own target
    assert resolution(didww) == {"didww": 1}
    assert describe_check(check) == "odin-demo has no trunk_group 'acme-hq-PBX'"


def test_the_status_page_lists_unresolved_links_escaped() -> None:
    page = render_status_page([], (True, 0.0), "1.0", 0.0, ["didww has no capacity_group '<b>'"])
    assert b"Links naming nothing upstream" in page
    assert b"<bdi>didww has no capacity_group &#x27;&lt;b&gt;&#x27;</bdi>" in page
    assert b"Links naming" not in render_status_page([], (True, 0.0), "1.0", 0.0)


def test_a_check_of_a_link_a_reload_removed_is_not_kept(simulator: Simulator) -> None:
    """A scrape that started before a reload builds with the old links: its checks of a link
    the new config dropped must not come back on the status page, where nothing would clear
    them."""
    typo = Link("odin-demo", "ent.acme", "didww-demo", "", "Main Office", "")
    exporter = Exporter(simulator_config(simulator))  # the new config: no such link
    try:
        exporter._note_link_checks([LinkCheck(typo, "didww", ("capacity_group",))])
        assert exporter.unresolved_links() == []
    finally:
        exporter.close()
