"""Every upstream API the exporter reads, in exposition order."""

from exporter import didww, odin
from exporter.vendor import Vendor

VENDORS: tuple[Vendor, ...] = (odin.VENDOR, didww.VENDOR)
