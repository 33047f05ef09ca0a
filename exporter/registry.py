"""Every upstream API the exporter reads, in exposition order."""

from exporter.core.vendor import Vendor
from exporter.vendors import didww, odin

VENDORS: tuple[Vendor, ...] = (odin.VENDOR, didww.VENDOR)
