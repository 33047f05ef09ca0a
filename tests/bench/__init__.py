"""`make bench`: the exporter against the simulator with injected latency (see BENCHMARKS.md)."""
