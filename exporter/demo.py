"""Demo mode: the simulated Odin and DIDWW upstreams in-process, and a config that scrapes them."""

from __future__ import annotations

from exporter.config import Config, DidwwTarget, OdinTarget, Secret
from simulator import Simulator


def demo_config(simulator: Simulator) -> Config:
    """Every feature on: SP discovery, trunk groups with live calls, DIDWW pools and groups."""
    return Config(
        odin=(
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
        ),
        didww=(
            DidwwTarget(
                name="didww-demo",
                url=simulator.didww_url,
                api_key=Secret(simulator.didww_api_key),
                # The simulator has no shared rate limit to stay under.
                rate_limit=0.0,
            ),
        ),
    )
