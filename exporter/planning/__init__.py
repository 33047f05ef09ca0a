"""Capacity planning: `trunk-capacity-exporter plan` reads the hourly traffic the mixin's
planning rules record from Prometheus and sizes each trunk by Erlang B (docs/planning.md)."""
