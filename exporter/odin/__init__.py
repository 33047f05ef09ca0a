"""Cisco BroadWorks trunk call capacity, through the Odin API."""

from exporter.odin.fetch import OdinFetcher
from exporter.odin.metrics import FAMILIES, UP_FAMILIES
from exporter.vendor import Vendor

VENDOR = Vendor(
    key="odin",
    families=FAMILIES,
    up=UP_FAMILIES,
    targets=lambda config: config.odin,
    open=OdinFetcher,
)
