"""Cisco BroadWorks trunk call capacity, through the Odin API."""

from exporter.core.vendor import Vendor
from exporter.vendors.odin.fetch import OdinFetcher
from exporter.vendors.odin.metrics import FAMILIES, UP_FAMILIES

VENDOR = Vendor(
    key="odin",
    families=FAMILIES,
    up=UP_FAMILIES,
    targets=lambda config: config.odin,
    open=OdinFetcher,
)
