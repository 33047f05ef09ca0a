"""Simulated Odin and DIDWW upstreams on a real loopback HTTP server.

Serves the exporter's --demo mode, the integration and fault-injection tests and the benchmark:

    with Simulator() as sim:               # default_dataset(), a free port on 127.0.0.1
        requests.get(sim.didww_url + "/balance", headers=...)
        sim.inject(Fault(api="odin", path="/auth/token", kind="status", status=503, times=1))
"""

from simulator.builders import default_dataset, generated_dataset
from simulator.calls import active_calls
from simulator.dataset import Dataset
from simulator.faults import Fault
from simulator.server import Simulator
from simulator.stats import Stats

__all__ = [
    "Dataset",
    "Fault",
    "Simulator",
    "Stats",
    "active_calls",
    "default_dataset",
    "generated_dataset",
]
