"""The capacity chain's links: read from the config, exposed as trunk_capacity_link_info."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exporter.chain import Link
from exporter.config.section import ConfigError
from exporter.core.deadline import Deadline
from exporter.registry import parse_config
from exporter.scrape.running import Exporter
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
