"""DIDWW capacity pools, shared capacity groups, trunks and balance, through the DIDWW API v3."""

from exporter.core.vendor import Vendor
from exporter.vendors.didww.fetch import DidwwFetcher
from exporter.vendors.didww.metrics import FAMILIES, UP_FAMILIES

VENDOR = Vendor(
    key="didww",
    families=FAMILIES,
    up=UP_FAMILIES,
    targets=lambda config: config.didww,
    open=DidwwFetcher,
)
