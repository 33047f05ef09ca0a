"""DIDWW capacity pools, shared capacity groups, trunks and balance, through the DIDWW API v3."""

from exporter.didww.fetch import DidwwFetcher
from exporter.didww.metrics import FAMILIES, UP_FAMILIES
from exporter.vendor import Vendor

VENDOR = Vendor(
    key="didww",
    families=FAMILIES,
    up=UP_FAMILIES,
    targets=lambda config: config.didww,
    open=DidwwFetcher,
)
