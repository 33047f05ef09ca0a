"""trunk-capacity-exporter: Prometheus exporter for voice trunk capacity (Odin and DIDWW)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trunk-capacity-exporter")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
