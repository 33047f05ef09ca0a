"""Demo mode: the simulated Odin and DIDWW upstreams in-process, and a config that scrapes them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from exporter.chain import Link
from exporter.config.section import Secret
from exporter.registry import Config
from exporter.vendors.didww.config import DidwwRefresh, DidwwTarget
from exporter.vendors.odin.config import OdinTarget
from simulator import Simulator

log = logging.getLogger(__name__)


def demo_config(simulator: Simulator) -> Config:
    """Every feature on: SP discovery, trunk groups with live calls, DIDWW pools and groups,
    and a link of the capacity chain (DIDWW's "Main office" feeding Acme's call centre, with
    room to spare: the chain's panels have data, its alerts stay quiet)."""
    return Config(
        targets=(
            OdinTarget(
                name="odin-demo",
                url=simulator.odin_url,
                username=simulator.odin_username,
                password=Secret(simulator.odin_password),
                discover=True,
                trunk_groups=True,
                # The simulator serves nobody else: no need to spare it.
                rate_limit=0.0,
            ),
            DidwwTarget(
                name="didww-demo",
                url=simulator.didww_url,
                api_key=Secret(simulator.didww_api_key),
                # The simulator has no shared rate limit to stay under, and the demo's pools
                # drain by the minute for the forecast panels: read everything every scrape.
                rate_limit=0.0,
                refresh=DidwwRefresh(pools=0.0, groups=0.0, trunks=0.0, did_counts=0.0),
            ),
        ),
        links=(
            Link(
                odin_target="odin-demo",
                service_provider="ent.acme",
                trunk_group="acme-cc-inbound",
                didww_target="didww-demo",
                capacity_group="Main office",
                voice_in_trunk="Main SIP trunk",
            ),
        ),
    )


@contextlib.contextmanager
def running_demo() -> Iterator[Config]:
    """The simulated upstreams, started for as long as the demo's config is in use."""
    with Simulator() as simulator:
        log.info(
            "demo mode: simulated upstreams started",
            extra={"odin": simulator.odin_url, "didww": simulator.didww_url},
        )
        yield demo_config(simulator)
