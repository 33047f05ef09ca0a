"""Simulated Odin and DIDWW upstreams on a real loopback HTTP server.

Serves the exporter's --demo mode, the integration and fault-injection tests and the benchmark:

    with Simulator() as sim:               # default_dataset(), a free port on 127.0.0.1
        requests.get(sim.didww_url + "/balance", headers=...)
        sim.inject(Fault(api="odin", path="/auth/token", kind="status", status=503, times=1))
"""

from exporter.simulator.builders import default_dataset, generated_dataset
from exporter.simulator.calls import active_calls
from exporter.simulator.dataset import Dataset
from exporter.simulator.faults import Fault
from exporter.simulator.server import Simulator
from exporter.simulator.stats import Stats

__all__ = [
    "Dataset",
    "Fault",
    "Simulator",
    "Stats",
    "active_calls",
    "default_dataset",
    "generated_dataset",
]
