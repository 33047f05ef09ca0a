"""A made-up SIP carrier with one capacity endpoint: the smallest complete vendor."""

from exporter.vendors.fakecarrier.config import SECTION
from exporter.vendors.fakecarrier.fetch import FakeCarrierFetcher
from exporter.vendors.fakecarrier.metrics import FAMILIES, UP_FAMILIES

from exporter.core.vendor import Vendor

VENDOR = Vendor(section=SECTION, families=FAMILIES, up=UP_FAMILIES, open=FakeCarrierFetcher)
