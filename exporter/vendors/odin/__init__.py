"""Cisco BroadWorks trunk call capacity, through the Odin API."""

from exporter.core.vendor import Vendor
from exporter.vendors.odin.config import SECTION
from exporter.vendors.odin.fetch import OdinFetcher
from exporter.vendors.odin.metrics import FAMILIES, UP_FAMILIES

VENDOR = Vendor(section=SECTION, families=FAMILIES, up=UP_FAMILIES, open=OdinFetcher)
