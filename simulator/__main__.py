"""`python -m simulator`: run the simulated upstreams until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from simulator.builders import default_dataset, generated_dataset
from simulator.server import Simulator

_SIZE_OPTIONS = (
    "service_providers",
    "groups_per_sp",
    "trunk_groups_per_group",
    "pools",
    "capacity_groups",
    "dids_per_capacity_group",
    "hot_share",
    "voice_in_trunks",
)


def _listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Simulated Odin and DIDWW APIs. Without size options: the demo dataset; "
        "with any: a generated dataset of that size.",
    )
    parser.add_argument(
        "--listen",
        type=_listen_address,
        default=("127.0.0.1", 8080),
        metavar="HOST:PORT",
        help="address to bind (default 127.0.0.1:8080)",
    )
    parser.add_argument("--service-providers", type=int, metavar="N")
    parser.add_argument("--groups-per-sp", type=int, metavar="G")
    parser.add_argument("--trunk-groups-per-group", type=int, metavar="T")
    parser.add_argument("--pools", type=int, metavar="P")
    parser.add_argument("--capacity-groups", type=int, metavar="C")
    parser.add_argument("--dids-per-capacity-group", type=int, metavar="D")
    parser.add_argument(
        "--hot-share",
        type=float,
        metavar="FRACTION",
        help="share of trunk groups always near their limit (no group or SP caps then)",
    )
    parser.add_argument("--voice-in-trunks", type=int, metavar="N")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated dataset")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay before each answer"
    )
    parser.add_argument(
        "--didww-rate-limit",
        type=float,
        metavar="PER_SECOND",
        help="DIDWW requests/s per API key before 429 (default: no limit)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = {name: getattr(args, name) for name in _SIZE_OPTIONS if getattr(args, name) is not None}
    dataset = generated_dataset(**sizes, seed=args.seed) if sizes else default_dataset()
    host, port = args.listen
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Simulator(dataset, latency=args.latency, host=host, port=port) as sim:
        sim.didww_rate_limit = args.didww_rate_limit
        print(f"Odin:  {sim.odin_url}  username={sim.odin_username} password={sim.odin_password}")
        print(f"DIDWW: {sim.didww_url}  api_key={sim.didww_api_key}")
        print("Serving until SIGINT or SIGTERM.", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
