"""DIDWW capacity pools, shared capacity groups, trunks and balance, through the DIDWW API v3."""

from exporter.core.vendor import Vendor
from exporter.vendors.didww.config import SECTION
from exporter.vendors.didww.fetch import DidwwFetcher
from exporter.vendors.didww.metrics import FAMILIES, UP_FAMILIES

VENDOR = Vendor(section=SECTION, families=FAMILIES, up=UP_FAMILIES, open=DidwwFetcher)
